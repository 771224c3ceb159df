#!/bin/sh
# --images SPEC takes the same forms in every subcommand (#25 item 4): a
# file listing image paths, a directory, idx:FILE (with the true classes of
# the IDX1 labels file beside it); and a mistyped --target label gets the
# nearest label suggested.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

VGG="$MODELS/fmnist_vgg.onnx"
SAMPLES="$MODELS/samples"
FMNIST=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

printf '%s\n' "$SAMPLES/bag.png" "$SAMPLES/coat.png" >"$TMP/list"
mkdir "$TMP/dir"
cp "$SAMPLES/bag.png" "$SAMPLES/coat.png" "$TMP/dir/"

# predict: the list and the directory give the images in their order, with
# the answers of the same files named on the command line.
expect_exit 0 "predict files" -- "$DMBP" predict "$VGG" "$SAMPLES/bag.png" "$SAMPLES/coat.png" --top 1 &&
    grep -v "^ " "$TMP/out" | xargs -n 1 basename >"$TMP/names.want" &&
    grep "^ " "$TMP/out" >"$TMP/classes.want"
for spec in "$TMP/list" "$TMP/dir"; do
    if expect_exit 0 "predict --images $spec" -- "$DMBP" predict "$VGG" --images "$spec" --top 1; then
        grep -v "^ " "$TMP/out" | xargs -n 1 basename >"$TMP/names"
        grep "^ " "$TMP/out" >"$TMP/classes"
        cmp -s "$TMP/names" "$TMP/names.want" && cmp -s "$TMP/classes" "$TMP/classes.want" ||
            fail "predict --images $spec: $(cat "$TMP/out")"
    fi
done

# masks and explain take --images for an image set.
expect_exit 0 "masks --images" -- "$DMBP" masks "$VGG" --images "$TMP/dir" --iters 2 -O "$TMP/masks" --quiet &&
    { [ -s "$TMP/masks/bag-masks.json" ] && [ -s "$TMP/masks/coat-masks.json" ] ||
        fail "masks --images DIR: $(ls "$TMP/masks")"; }
expect_exit 0 "explain --images DIR" -- "$DMBP" explain "$VGG" --images "$TMP/dir" --method gxi -O "$TMP/ex" --quiet &&
    { [ -s "$TMP/ex/bag-gxi.npy" ] && [ -s "$TMP/ex/coat-gxi.npy" ] || fail "explain --images DIR: $(ls "$TMP/ex")"; }

# idx:FILE: two images of Fashion-MNIST's test set (an ankle boot and a
# pullover) as an IDX3 file of their own, with the labels beside it.
if [ -r "$FMNIST" ]; then
    printf '\000\000\010\003\000\000\000\002\000\000\000\034\000\000\000\034' >"$TMP/two-images-idx3-ubyte"
    gzip -dc "$FMNIST" | tail -c +17 | head -c 1568 >>"$TMP/two-images-idx3-ubyte"
    printf '\000\000\010\001\000\000\000\002\011\002' >"$TMP/two-labels-idx1-ubyte"
    idx="idx:$TMP/two-images-idx3-ubyte"
    if expect_exit 0 "predict --images idx:" -- "$DMBP" predict "$VGG" --images "$idx" --top 1; then
        printf '%s\n' "$TMP/two-images-idx3-ubyte#0" "      9  Ankle boot" "$TMP/two-images-idx3-ubyte#1" \
            "      2  Pullover" >"$TMP/want"
        sed 's/  *[0-9.]*$//' "$TMP/out" | cmp -s - "$TMP/want" || fail "predict idx: $(cat "$TMP/out")"
    fi
    expect_exit 0 "explain --images idx:" -- "$DMBP" explain "$VGG" --images "$idx" --method gxi -O "$TMP/exi" --quiet &&
        { [ -s "$TMP/exi/two-images-idx3-ubyte#0-gxi.npy" ] && [ -s "$TMP/exi/two-images-idx3-ubyte#1-gxi.npy" ] ||
            fail "explain --images idx: $(ls "$TMP/exi")"; }
    expect_exit 0 "masks --images idx:" -- "$DMBP" masks "$VGG" --images "$idx" --iters 2 -O "$TMP/mai" --quiet &&
        { [ -s "$TMP/mai/two-images-idx3-ubyte#1-masks.json" ] || fail "masks --images idx: $(ls "$TMP/mai")"; }
    # The labels file beside them: their true classes, for eval --targets true.
    if expect_exit 0 "eval --images idx: --targets true" -- "$DMBP" eval "$VGG" --images "$idx" --methods gxi \
        --targets true --randomization-images 0 --csv "$TMP/e.csv"; then
        tr -d '\r' <"$TMP/e.csv" | sed 1d | cut -d, -f4,6,7 >"$TMP/rows"
        printf '9,9,Ankle boot\n2,2,Pullover\n' | cmp -s - "$TMP/rows" || fail "eval idx true: $(cat "$TMP/rows")"
    fi
    printf '\000\000\010\001\000\000\000\003\011\002\001' >"$TMP/two-labels-idx1-ubyte"
    refused 4 "not the IDX1 labels of" "labels of another count" -- "$DMBP" predict "$VGG" --images "$idx"
else
    echo "$(basename "$0"): $FMNIST not installed (apt-get install dataset-fashion-mnist): idx: not tested"
fi

# The same refusals everywhere.
refused 2 "a PNG image; --images takes" "predict --images PNG" -- "$DMBP" predict "$VGG" --images "$SAMPLES/bag.png"
: >"$TMP/empty"
refused 2 "the list names no image" "masks --images empty" -- "$DMBP" masks "$VGG" --images "$TMP/empty" -O "$TMP/m2"
refused 3 "cannot open" "explain --images missing" -- "$DMBP" explain "$VGG" --images "$TMP/none" -O "$TMP/e2"

# A mistyped label: the nearest one suggested.
refused 2 "did you mean 'Sandal'?" "--target Sandel" -- "$DMBP" explain "$VGG" "$SAMPLES/bag.png" --method gxi \
    --target Sandel -o "$TMP/x"
printf 'Bag\nCaot\n' >"$TMP/truth"
refused 4 "did you mean 'Coat'?" "--true-labels Caot" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi \
    --true-labels "$TMP/truth" --csv "$TMP/x.csv"

finish
