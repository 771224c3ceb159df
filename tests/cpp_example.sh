#!/bin/sh
# The C++ example (examples/predict.cpp, built by make check against the
# public header and the shared library) classifies a shipped sample.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
expect_exit 0 "C++ example" -- "$top_builddir/examples/predict_cpp" "$MODELS/fmnist_vgg.onnx" "$MODELS/samples/ankle_boot.png" &&
    grep -q "class 9 (Ankle boot)" "$TMP/out" || fail "C++ example: $(cat "$TMP/out" "$TMP/err")"
expect_exit 1 "C++ example, bad image" -- "$top_builddir/examples/predict_cpp" "$MODELS/fmnist_vgg.onnx" "$IMG/bad_text.png" &&
    grep -q "bad_text.png" "$TMP/err" || fail "C++ example error path: $(cat "$TMP/err")"
# [[nodiscard]] in C++17: an ignored status is a warning (an error here),
# a cast to void silences it.
CXX=${CXX:-c++}
printf '#include <dmbp.hpp>\nvoid f(dmbp_model **m) { dmbp_model_load("x", m); }\n' \
    >"$TMP/ignored.cpp"
printf '#include <dmbp.hpp>\nvoid f(dmbp_model **m) { (void)dmbp_model_load("x", m); }\n' \
    >"$TMP/voided.cpp"
$CXX -std=c++17 -Werror=unused-result -I"$top_srcdir/src" -c \
    -o "$TMP/ignored.o" "$TMP/ignored.cpp" 2>"$TMP/err" &&
    fail "C++17: an ignored dmbp_status compiled without a warning"
grep -q "nodiscard\|unused-result\|ignoring return value" "$TMP/err" ||
    fail "C++17 ignored status: $(cat "$TMP/err")"
$CXX -std=c++17 -Werror=unused-result -I"$top_srcdir/src" -c \
    -o "$TMP/voided.o" "$TMP/voided.cpp" 2>"$TMP/err" ||
    fail "C++17: (void) did not silence it: $(cat "$TMP/err")"
finish
