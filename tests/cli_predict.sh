#!/bin/sh
# dmbp info and dmbp predict on the shipped models and samples.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

expect_exit 0 "--version" -- "$DMBP" --version &&
    grep -q "^dmbp [0-9]" "$TMP/out" || fail "--version output"
expect_exit 0 "--help" -- "$DMBP" --help &&
    grep -q "predict" "$TMP/out" || fail "--help output"

for m in fmnist_vgg fmnist_resnet; do
    expect_exit 0 "info $m" -- "$DMBP" info "$MODELS/$m.onnx" || continue
    grep -q "^input  *input \[?, 1, 28, 28\]" "$TMP/out" || fail "info $m: input line"
    grep -q "^output  *logits, 10 classes" "$TMP/out" || fail "info $m: output line"
    grep -q "Ankle boot" "$TMP/out" || fail "info $m: labels"
    expect_exit 0 "info --json $m" -- "$DMBP" info --json "$MODELS/$m.onnx" &&
        grep -q '"classes": 10' "$TMP/out" || fail "info --json $m"

    # Every sample was chosen (models/train.py) as a test image both models
    # classify correctly: its file name is its true class.
    for png in "$MODELS"/samples/*.png; do
        slug=$(basename "$png" .png)
        case $slug in
        tshirt) want=0 ;; trouser) want=1 ;; pullover) want=2 ;;
        dress) want=3 ;; coat) want=4 ;; sandal) want=5 ;; shirt) want=6 ;;
        sneaker) want=7 ;; bag) want=8 ;; ankle_boot) want=9 ;;
        *) fail "unexpected sample $slug"; continue ;;
        esac
        expect_exit 0 "predict $m $slug" -- "$DMBP" predict "$MODELS/$m.onnx" "$png" --top 1 || continue
        got=$(sed -n '2s/^ *\([0-9]*\) .*/\1/p' "$TMP/out")
        [ "$got" = "$want" ] || fail "$m on $slug: class '$got', want $want"
    done

    # JSON: one line per image, the documented keys, ten logits.
    expect_exit 0 "predict --json $m" -- "$DMBP" predict "$MODELS/$m.onnx" "$MODELS"/samples/*.png --json --top 3 || continue
    n=$(ls "$MODELS"/samples/*.png | wc -l)
    [ "$(wc -l <"$TMP/out")" -eq "$n" ] || fail "$m --json: $(wc -l <"$TMP/out") lines for $n images"
    bad=$(grep -vc '^{"image": ".*", "top": \[{"class": [0-9]*, "label": "[^"]*", "prob": [0-9.e-]*}, {.*}, {.*}\], "logits": \[[^],]*\(, [^],]*\)\{9\}\]}$' "$TMP/out")
    [ "$bad" -eq 0 ] || fail "$m --json: $bad malformed lines: $(head -c 300 "$TMP/out")"

    # Batching does not change the answers.
    "$DMBP" predict "$MODELS/$m.onnx" "$MODELS"/samples/*.png --batch 1 >"$TMP/b1" 2>&1 || fail "$m --batch 1"
    "$DMBP" predict "$MODELS/$m.onnx" "$MODELS"/samples/*.png --batch 4 >"$TMP/b4" 2>&1 || fail "$m --batch 4"
    cmp -s "$TMP/b1" "$TMP/b4" || fail "$m: --batch 1 and --batch 4 differ"
done

# A labels file overrides the model's labels; --top limits the list.
seq 0 9 | sed 's/^/class-/' >"$TMP/labels.txt"
expect_exit 0 "--labels" -- "$DMBP" predict "$MODELS/fmnist_vgg.onnx" "$MODELS/samples/trouser.png" --labels "$TMP/labels.txt" --top 3 &&
    grep -q "^ *1  *class-1 " "$TMP/out" || fail "--labels: $(cat "$TMP/out")"
[ "$(grep -c "class-" "$TMP/out")" -eq 3 ] || fail "--top 3 printed $(grep -c class- "$TMP/out") rows"

# Preprocessing flags: a colour image of another size is converted to the
# model's gray 28x28; explicit flags equal to the defaults change nothing.
expect_exit 0 "rgb input" -- "$DMBP" predict "$MODELS/fmnist_vgg.onnx" "$IMG/pre_rgb_300x200.png" || true
"$DMBP" predict "$MODELS/fmnist_vgg.onnx" "$MODELS/samples/bag.png" >"$TMP/d1"
"$DMBP" predict "$MODELS/fmnist_vgg.onnx" "$MODELS/samples/bag.png" --resize 28 --crop 28 --mean 0.2860 --std 0.3530 >"$TMP/d2"
cmp -s "$TMP/d1" "$TMP/d2" || fail "explicit default flags changed the result"
"$DMBP" predict "$MODELS/fmnist_vgg.onnx" "$MODELS/samples/bag.png" --mean 0.5 >"$TMP/d3"
cmp -s "$TMP/d1" "$TMP/d3" && fail "--mean had no effect"

# No metadata: the model's declared 28x28 input is the default crop, so
# --no-resize takes an image of exactly that size (and crops a larger one);
# a model with dynamic sizes keeps ImageNet's crop 224.
PRE="$top_srcdir/tests/ref/data/pre"
expect_exit 0 "--no-resize at the declared size" -- "$DMBP" predict "$PRE/static28.onnx" "$PRE/gray28.png" --no-resize || true
expect_exit 0 "--no-resize, larger image" -- "$DMBP" predict "$PRE/static28.onnx" "$PRE/gray30.png" --no-resize || true
expect_exit 0 "info: declared size" -- "$DMBP" info "$PRE/static28.onnx" &&
    grep -q "^preprocess  *resize 32, crop 28," "$TMP/out" || fail "info static28: $(cat "$TMP/out")"
expect_exit 6 "dynamic size: ImageNet crop" -- "$DMBP" predict "$PRE/dynamic_hw.onnx" "$PRE/gray28.png" --no-resize &&
    grep -q "smaller than the crop 224x224" "$TMP/err" || fail "dynamic_hw: $(cat "$TMP/err")"
finish
