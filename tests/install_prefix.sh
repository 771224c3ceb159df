#!/bin/sh
# Issue #25: the library installed under a prefix the dynamic linker does
# not search, a program built against it with pkg-config alone runs
# without LD_LIBRARY_PATH and binds to that copy. A scratch copy of the
# sources is configured with --prefix=TMP/prefix (the source tree may be
# configured in place, which rules out a build beside it), its library,
# headers and dmbp.pc installed, examples/explain.c compiled with
# `pkg-config --cflags --libs dmbp` only, and run with LD_LIBRARY_PATH
# unset. About 20 s on an idle machine (the library's compilation).
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1 ||
    { echo "no pkg-config: skipped"; exit 77; }
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
CC=${CC:-cc}
src="$TMP/src"
prefix="$TMP/prefix"
mkdir "$src"
# What configure and the library's build read; no objects of an in-place
# build (tar keeps the times, so make regenerates nothing).
(cd "$top_srcdir" && tar cf - --exclude='*.o' --exclude='*.lo' \
    --exclude='*.la' --exclude=.libs --exclude=.deps --exclude=.dirstamp \
    --exclude='onnx.pb-c.*' \
    configure configure.ac Makefile.am Makefile.in aclocal.m4 config.h.in \
    build-aux m4 src proto dmbp.pc.in) | (cd "$src" && tar xf -) ||
    { fail "copying the sources"; finish; }
build() {
    (cd "$src" && env -u MAKEFLAGS -u MFLAGS "$@") >>"$TMP/build.log" 2>&1
}
build ./configure -q --prefix="$prefix" --without-mpi CC="$CC" \
    CFLAGS="${CFLAGS:-}" LDFLAGS="${LDFLAGS:-}" ||
    { fail "configure: $(tail -5 "$TMP/build.log")"; finish; }
build make -j2 proto/onnx.pb-c.c &&
build make -j2 install-libLTLIBRARIES install-includeHEADERS \
    install-pkgconfigDATA ||
    { fail "make install: $(tail -5 "$TMP/build.log")"; finish; }

PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export PKG_CONFIG_PATH
flags=$("$PKG_CONFIG" --cflags --libs dmbp) ||
    { fail "pkg-config finds no dmbp in $PKG_CONFIG_PATH"; finish; }
echo "pkg-config --cflags --libs dmbp: $flags"
# shellcheck disable=SC2086 # the flags are words
"$CC" -std=c11 ${CFLAGS:-} -o "$TMP/explain" "$top_srcdir/examples/explain.c" \
    $flags ${LDFLAGS:-} >"$TMP/cc.log" 2>&1 ||
    { fail "compiling examples/explain.c: $(cat "$TMP/cc.log")"; finish; }
unset LD_LIBRARY_PATH
expect_exit 0 "the example built against $prefix, without LD_LIBRARY_PATH" -- \
    "$TMP/explain" "$MODELS/fmnist_vgg.onnx" "$MODELS/samples/ankle_boot.png" \
    "$TMP/boot.png"
grep -q "^class 9 (Ankle boot)" "$TMP/out" ||
    fail "the example's output: $(cat "$TMP/out")"
# The library it ran with is the prefix's, not one found elsewhere.
line=$(ldd "$TMP/explain" | grep 'libdmbp\.so')
case $line in
*"=> $prefix"/lib/libdmbp.so*) ;;
*) fail "the example's libdmbp is not $prefix/lib's: ldd says '$line'" ;;
esac
finish
