#!/bin/sh
# Every class of bad input: the documented exit status, one line on stderr
# that names the file and the problem, and no crash.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

VGG="$MODELS/fmnist_vgg.onnx"
PNG="$MODELS/samples/bag.png"

# expect CODE NEEDLE DESCRIPTION -- COMMAND...: refused (cli_common.sh).
expect() { refused "$@"; }

# Usage: status 2.
expect 2 "no command" "no arguments" -- "$DMBP"
expect 2 "unknown command 'frobnicate'" "unknown command" -- "$DMBP" frobnicate
expect 2 "--bogus" "unknown option" -- "$DMBP" predict "$VGG" "$PNG" --bogus
expect 2 "--top" "--top 0" -- "$DMBP" predict "$VGG" "$PNG" --top 0
expect 2 "--top" "--top missing value" -- "$DMBP" predict "$VGG" "$PNG" --top
expect 2 "--mean" "--mean nan" -- "$DMBP" predict "$VGG" "$PNG" --mean nan
expect 2 "--std" "--std 0" -- "$DMBP" predict "$VGG" "$PNG" --std 0
expect 2 "--resize" "--resize -3" -- "$DMBP" predict "$VGG" "$PNG" --resize -3
expect 2 "no images" "no images" -- "$DMBP" predict "$VGG"

# Files that cannot be read: status 3.
expect 3 "/nonexistent/m.onnx" "missing model" -- "$DMBP" predict /nonexistent/m.onnx "$PNG"
expect 3 "/nonexistent/i.png" "missing image" -- "$DMBP" predict "$VGG" /nonexistent/i.png
expect 3 "/nonexistent/l.txt" "missing labels" -- "$DMBP" predict "$VGG" "$PNG" --labels /nonexistent/l.txt

# Not what it claims to be: status 4.
expect 4 "$PNG" "PNG given as a model" -- "$DMBP" info "$PNG"
expect 4 "truncated.onnx" "truncated model" -- "$DMBP" info "$API/truncated.onnx"
: >"$TMP/empty.onnx"
expect 4 "empty.onnx" "empty model" -- "$DMBP" info "$TMP/empty.onnx"
expect 4 "leaves" "external data outside the model's folder" -- "$DMBP" info "$API/external_escape.onnx"
expect 4 "bad_text.png" "text file as image" -- "$DMBP" predict "$VGG" "$IMG/bad_text.png"
expect 4 "bad_truncated.png" "truncated PNG" -- "$DMBP" predict "$VGG" "$IMG/bad_truncated.png"
expect 4 "bad_empty.png" "empty PNG" -- "$DMBP" predict "$VGG" "$IMG/bad_empty.png"
expect 4 "bad_huge.png" "PNG too large" -- "$DMBP" predict "$VGG" "$IMG/bad_huge.png"
echo "only-one-label" >"$TMP/short.txt"
expect 4 "short.txt" "too few labels" -- "$DMBP" predict "$VGG" "$PNG" --labels "$TMP/short.txt"

# Unsupported model: status 5, naming the op and the supported list.
expect 5 "Selu" "unsupported op" -- "$DMBP" info "$API/unsupported_op.onnx"
grep -q "supported ops: Conv" "$TMP/err" || fail "unsupported op: no list of supported ops"
expect 5 "INT8" "int8 weights" -- "$DMBP" info "$API/int8_weight.onnx"

# Sizes that do not fit: status 6.
expect 6 "crop" "image smaller than the crop" -- "$DMBP" predict "$VGG" "$IMG/gray1_13x5.png" --no-resize

# NaN: status 7.
expect 7 "NaN" "NaN weight" -- "$DMBP" info "$API/nan_weight.onnx"

# A bad image after good ones: the good results are printed, then the
# error and a non-zero status.
expect_exit 4 "good then bad" -- "$DMBP" predict "$VGG" "$PNG" "$IMG/bad_text.png" --batch 1
grep -q "bag.png" "$TMP/out" || fail "good then bad: the good image's result is missing"
finish
