#!/bin/sh
# A program built against libdmbp 0.1's header (bbe9d0f's src/dmbp.h, kept
# as tests/compat/dmbp-0.1/dmbp.h) and run against this library is refused
# cleanly, never run with a misread options struct (issue #22):
#  - this library's soname is libdmbp.so.1: the loader does not bind the
#    old binary (NEEDED libdmbp.so.0) to it;
#  - forced onto it anyway (a libdmbp.so.0 link to it), a binary that
#    calls 0.1's dmbp_explain_options_init() finds no such symbol (it is a
#    macro now): refused at load under LD_BIND_NOW;
#  - one that fills the struct by hand (no struct_size in 0.1), or passes
#    NULL options, gets DMBP_ERR_ARG from dmbp_explain: 0.1 passed the
#    model where 0.2 takes a dmbp_session, which the library tells from
#    its first member.
# The old binary is linked against a stand-in for 0.1's library
# (tests/compat/stub_0_1.c) with 0.1's soname.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
CC=${CC:-cc}
OLD="$top_srcdir/tests/compat"
NEW_SO="$top_builddir/src/.libs/libdmbp.so.1"
[ -f "$NEW_SO" ] || { echo "SKIP: no shared library $NEW_SO"; exit 77; }
soname=$(readelf -d "$NEW_SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libdmbp.so.1 ] || fail "soname '$soname', want libdmbp.so.1"

mkdir "$TMP/old" "$TMP/new" "$TMP/forced"
# shellcheck disable=SC2086 # CFLAGS/LDFLAGS are word lists
$CC -std=c11 ${CFLAGS:-} -fPIC -shared -Wl,-soname,libdmbp.so.0 \
    -I"$OLD/dmbp-0.1" -o "$TMP/old/libdmbp.so.0" "$OLD/stub_0_1.c" \
    ${LDFLAGS:-} || fail "building the 0.1 stand-in"
ln -s libdmbp.so.0 "$TMP/old/libdmbp.so"
for v in init raw none; do
    def=; [ $v = init ] && def=-DUSE_INIT; [ $v = none ] && def=-DNO_OPTIONS
    # shellcheck disable=SC2086
    $CC -std=c11 ${CFLAGS:-} $def -I"$OLD/dmbp-0.1" -o "$TMP/client_$v" \
        "$OLD/old_client.c" -L"$TMP/old" -ldmbp ${LDFLAGS:-} ||
        fail "building the 0.1 client ($v)"
done
readelf -d "$TMP/client_init" | grep -q 'NEEDED.*\[libdmbp.so.0\]' ||
    fail "the old client does not need libdmbp.so.0"

# Where its library is, the old client runs (so a refusal below is ours).
LD_LIBRARY_PATH="$TMP/old" expect_exit 0 "old client, 0.1 library" -- \
    "$TMP/client_init" "$MODELS/fmnist_vgg.onnx"
grep -q "explained: target 7" "$TMP/out" || fail "stand-in: $(cat "$TMP/out")"

# Only the new library installed: the loader refuses, naming the soname.
ln -s "$NEW_SO" "$TMP/new/libdmbp.so.1"
LD_LIBRARY_PATH="$TMP/new" expect_exit 127 "old client, new library" -- \
    "$TMP/client_init" "$MODELS/fmnist_vgg.onnx"
grep -q "libdmbp.so.0" "$TMP/err" || fail "loader message: $(cat "$TMP/err")"
[ -s "$TMP/out" ] && fail "old client ran: $(cat "$TMP/out")"

# Forced onto the new library: 0.1's init function is gone.
ln -s "$NEW_SO" "$TMP/forced/libdmbp.so.0"
LD_BIND_NOW=1 LD_LIBRARY_PATH="$TMP/forced" expect_exit 127 \
    "old client forced, init" -- "$TMP/client_init" "$MODELS/fmnist_vgg.onnx"
grep -q "undefined symbol: dmbp_explain_options_init" "$TMP/err" ||
    fail "forced init: $(cat "$TMP/err")"
[ -s "$TMP/out" ] && fail "old client ran: $(cat "$TMP/out")"

# Forced, with a struct filled by hand or no options: dmbp_explain refuses
# the model given for a session.
for v in raw none; do
    LD_LIBRARY_PATH="$TMP/forced" expect_exit 1 "old client forced, $v" -- \
        "$TMP/client_$v" "$MODELS/fmnist_vgg.onnx"
    grep -q "DMBP_ERR_ARG: dmbp_explain: not a dmbp_session" "$TMP/err" ||
        fail "forced $v: $(cat "$TMP/err")"
    [ -s "$TMP/out" ] && fail "old client explained: $(cat "$TMP/out")"
done
finish
