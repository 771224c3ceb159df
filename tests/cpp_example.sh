#!/bin/sh
# The C++ example (examples/predict.cpp, built by make check against the
# public header and the shared library) classifies a shipped sample.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
expect_exit 0 "C++ example" -- "$top_builddir/examples/predict_cpp" "$MODELS/fmnist_vgg.onnx" "$MODELS/samples/ankle_boot.png" &&
    grep -q "class 9 (Ankle boot)" "$TMP/out" || fail "C++ example: $(cat "$TMP/out" "$TMP/err")"
expect_exit 1 "C++ example, bad image" -- "$top_builddir/examples/predict_cpp" "$MODELS/fmnist_vgg.onnx" "$IMG/bad_text.png" &&
    grep -q "bad_text.png" "$TMP/err" || fail "C++ example error path: $(cat "$TMP/err")"
finish
