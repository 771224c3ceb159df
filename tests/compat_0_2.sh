#!/bin/sh
# A program built against libdmbp 0.2's headers and run against this
# library works, and gets the defaults for the fields added since
# (issue #22's Done-when: "refused cleanly or works; say which"): it works.
#  - every function 0.2's headers declare (tests/compat/dmbp-0.2, src/ of
#    4b75146^, the last layout before 0.3 appended fields) is still
#    exported by libdmbp.so.1;
#  - tests/compat/client_0_2.c compiled against 0.2's headers and against
#    today's, both run against today's library, write the same bytes (the
#    maps of four methods and a rendered PNG), although their options
#    structs have different sizes.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
CC=${CC:-cc}
OLD="$top_srcdir/tests/compat/dmbp-0.2"
NEW_SO="$top_builddir/src/.libs/libdmbp.so.1"
[ -f "$NEW_SO" ] || { echo "SKIP: no shared library $NEW_SO"; exit 77; }

# Every DMBP_API function of 0.2's headers, exported by this library.
# (not the _init macros, not the comments)
grep -hv '^#define\|^ *\*\|^ */\*' "$OLD/dmbp.h" "$OLD/dmbp_render.h" |
    sed -n 's/.*[ *]\(dmbp_[a-z0-9_]*\)(.*/\1/p' | sort -u >"$TMP/declared"
[ "$(wc -l <"$TMP/declared")" -gt 60 ] || fail "only $(wc -l <"$TMP/declared") functions read from 0.2's headers"
nm -D --defined-only "$NEW_SO" | awk '{ print $3 }' | sort -u >"$TMP/exported"
missing=$(comm -23 "$TMP/declared" "$TMP/exported" | tr '\n' ' ')
[ -z "$missing" ] || fail "0.2's functions missing from libdmbp.so.1: $missing"

for v in old new; do
    inc="$top_srcdir/src"
    [ $v = old ] && inc=$OLD
    # shellcheck disable=SC2086 # CFLAGS/LDFLAGS are word lists
    $CC -std=c11 ${CFLAGS:-} -I"$inc" -o "$TMP/client_$v" \
        "$top_srcdir/tests/compat/client_0_2.c" -L"$(dirname "$NEW_SO")" \
        -Wl,-rpath,"$(dirname "$NEW_SO")" -ldmbp ${LDFLAGS:-} ||
        { fail "building the client against the $v headers"; finish; }
    "$TMP/client_$v" "$MODELS/fmnist_vgg.onnx" "$TMP/$v.bin" "$TMP/$v.png" \
        >"$TMP/$v.sizes" 2>"$TMP/$v.err" ||
        { fail "the client built against the $v headers: $(cat "$TMP/$v.err")"; finish; }
done
# The test means something only if the structs differ.
cmp -s "$TMP/old.sizes" "$TMP/new.sizes" &&
    fail "0.2's and today's structs have the same sizes: $(cat "$TMP/new.sizes")"
[ -s "$TMP/new.bin" ] && [ -s "$TMP/new.png" ] || fail "the client wrote nothing"
cmp -s "$TMP/old.bin" "$TMP/new.bin" ||
    fail "maps differ between 0.2's headers ($(cat "$TMP/old.sizes")) and today's ($(cat "$TMP/new.sizes"))"
cmp -s "$TMP/old.png" "$TMP/new.png" || fail "the PNG differs between 0.2's headers and today's"
echo "compat_0_2.sh: 0.2 ($(cat "$TMP/old.sizes")) and today ($(cat "$TMP/new.sizes")): the same maps and PNG"
finish
