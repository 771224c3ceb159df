#!/bin/sh
# Hostile models (tests/fuzz/regressions/, issue #11's findings F1-F9):
# dmbp refuses each with one line on stderr naming the file, an exit
# status of 2-7 (never 1, never a crash) and no output file.
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/cli_common.sh"

REG="$top_srcdir/tests/fuzz/regressions"
IMG1="$MODELS/samples/bag.png"

# expect_refusal STATUS FILE [ARGS...]: the command's status, one stderr
# line naming FILE.
expect_refusal() {
    _want=$1; _file=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    _got=$?
    _lines=$(wc -l <"$TMP/err")
    if [ "$_got" != "$_want" ] || [ "$_lines" != 1 ] ||
       ! grep -q "$(basename "$_file")" "$TMP/err"; then
        fail "$(basename "$_file"): exit $_got (want $_want), $_lines" \
             "stderr lines: $(cat "$TMP/err")"
    fi
}

# Budget small enough that no machine's default lets F3 through.
for f in "$REG"/*.onnx; do
    case $(basename "$f") in
    f1_*|f2_*|f3_*) want=6 ;;          # sizes
    f4_*|f9_*) want=4 ;;               # bad file
    f5_*) want=6 ;;                    # an empty constant where a scalar goes
    f8_reshape_fold.onnx) want=0 ;;    # folds a batch of 1: harmless
    f8_*) want=5 ;;                    # mixes the batch axis
    *) fail "no expectation for $f"; continue ;;
    esac
    if [ "$want" = 0 ]; then
        expect_exit 0 "$(basename "$f") at batch 1" -- \
            "$DMBP" predict --max-memory 256M "$f" "$IMG1"
    else
        expect_refusal "$want" "$f" "$DMBP" predict --max-memory 256M "$f" "$IMG1"
    fi
done

# F8 with lanes: IG runs 32 steps at once. The Reshape's target [1, -1]
# writes the load-time batch 1 first and kept it as axis 0 at load, so it
# reshapes each lane alone (issue #20, docs/model-support.md): IG runs.
# Pad and Concat on axis 0 are refused above even for one image.
cd "$TMP" || exit 1
expect_exit 0 "f8_reshape_fold with lanes" -- "$DMBP" explain --method ig \
    --max-memory 256M -o "$TMP/fold" "$REG/f8_reshape_fold.onnx" "$IMG1"
[ -s "$TMP/fold.png" ] || fail "f8_reshape_fold: IG wrote no map"

# The memory budget: the shipped model within a small budget runs, and
# a budget below its weights is a size error naming the sizes.
expect_exit 0 "fmnist_vgg within 64M" -- \
    "$DMBP" predict --max-memory 64M "$MODELS/fmnist_vgg.onnx" "$IMG1"
expect_refusal 6 fmnist_vgg.onnx "$DMBP" predict --max-memory 1M \
    "$MODELS/fmnist_vgg.onnx" "$IMG1"
grep -q "MiB" "$TMP/err" || fail "budget message names no size"
expect_exit 2 "--max-memory x" -- "$DMBP" predict --max-memory x \
    "$MODELS/fmnist_vgg.onnx" "$IMG1"
expect_exit 2 "--max-memory 0" -- "$DMBP" predict --max-memory 0 \
    "$MODELS/fmnist_vgg.onnx" "$IMG1"
expect_exit 2 "--max-memory without value" -- "$DMBP" predict \
    "$MODELS/fmnist_vgg.onnx" "$IMG1" --max-memory

finish
