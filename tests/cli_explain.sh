#!/bin/sh
# dmbp explain and dmbp masks on the shipped VGG model: the files each
# method writes, their formats, the JSON lines, and every refused option
# (documented status, one stderr line, no file left behind).
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

VGG="$MODELS/fmnist_vgg.onnx"
PNG="$MODELS/samples/bag.png"
OUT="$TMP/out.d"
mkdir "$OUT"

# is_png FILE: the 8-byte PNG signature.
is_png() {
    [ "$(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n')" = 89504e470d0a1a0a ]
}

# npy_shape FILE SHAPE: the .npy header declares float32 of that shape,
# e.g. "1, 28, 28".
npy_shape() {
    head -c 128 "$1" 2>/dev/null | grep -aq "'descr': '<f4', 'fortran_order': False, 'shape': ($2)"
}

# no_files DESCRIPTION: nothing was written to $OUT.
no_files() {
    [ -z "$(ls -A "$OUT")" ] || fail "$1: left files: $(ls -A "$OUT")"
    rm -rf "$OUT"; mkdir "$OUT"
}

# refused CODE NEEDLE DESCRIPTION -- ARGS...: explain with ARGS fails with
# CODE, one stderr line naming NEEDLE, and writes nothing.
refused() {
    code=$1; needle=$2; what=$3; shift 4
    if expect_exit "$code" "$what" -- "$DMBP" "$@"; then
        lines=$(wc -l <"$TMP/err")
        [ "$lines" -eq 1 ] || fail "$what: $lines lines on stderr: $(cat "$TMP/err")"
        grep -q "^dmbp: " "$TMP/err" || fail "$what: stderr does not start with 'dmbp: '"
        grep -qF -- "$needle" "$TMP/err" || fail "$what: stderr lacks '$needle': $(cat "$TMP/err")"
    fi
    no_files "$what"
}

# The baselines: PREFIX.png (a PNG) and PREFIX.npy of the right shape.
for m in saliency gxi ig smoothgrad guided gradcam gradcam++ scorecam occlusion rise lrp; do
    case $m in ig) few="--steps 8" ;; smoothgrad) few="--samples 4" ;;
        occlusion) few="--window 5 --stride 4" ;; rise) few="--samples 40 --grid 5 --keep 0.3" ;; *) few= ;; esac
    # shellcheck disable=SC2086 # $few is empty or two words
    expect_exit 0 "explain $m" -- "$DMBP" explain "$VGG" "$PNG" --method "$m" $few -o "$OUT/$m" || continue
    is_png "$OUT/$m.png" || fail "$m: $m.png is not a PNG"
    npy_shape "$OUT/$m.npy" "1, 28, 28" || fail "$m: $m.npy header: $(head -c 80 "$OUT/$m.npy" | tr -cd '[:print:]')"
    [ -s "$TMP/err" ] && fail "$m: stderr not empty: $(cat "$TMP/err")"
    grep -q "^$PNG: class 8 (Bag) logit [-0-9.]* p=[0-9.]* -> $OUT/$m.png" "$TMP/out" ||
        fail "$m: stdout: $(cat "$TMP/out")"
    [ $m != ig ] || grep -q " completeness gap [-0-9.e+]*$" "$TMP/out" || fail "ig: no gap: $(cat "$TMP/out")"
done
expect_exit 0 "saliency --abs" -- "$DMBP" explain "$VGG" "$PNG" --method saliency --abs -o "$OUT/abs" &&
    { npy_shape "$OUT/abs.npy" "1, 28, 28" || fail "saliency --abs: npy shape"; }
rm -rf "$OUT"; mkdir "$OUT"

# Default prefix: <image name without .png>-<method>, in the current
# directory; with -o and several images, PREFIX-1, PREFIX-2.
( cd "$OUT" && "$DMBP" explain "$VGG" "$PNG" --method gxi >/dev/null 2>&1 ) || fail "default prefix: failed"
[ -f "$OUT/bag-gxi.png" ] && [ -f "$OUT/bag-gxi.npy" ] || fail "default prefix: $(ls "$OUT")"
expect_exit 0 "two images" -- "$DMBP" explain "$VGG" "$PNG" "$MODELS/samples/coat.png" --method gxi -o "$OUT/two" &&
    for i in 01-bag 02-coat; do
        is_png "$OUT/two-$i.png" && npy_shape "$OUT/two-$i.npy" "1, 28, 28" || fail "two images: two-$i"
    done
grep -q "coat.png: class 4 (Coat) .* -> $OUT/two-02-coat.png" "$TMP/out" || fail "two images: stdout: $(cat "$TMP/out")"
rm -rf "$OUT"; mkdir "$OUT"

# JSON: one line per image with the documented keys.
expect_exit 0 "--json" -- "$DMBP" explain "$VGG" "$PNG" --method ig --steps 8 --json -o "$OUT/j"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "--json: $(wc -l <"$TMP/out") lines"
for key in '"image": "' '"method": "ig"' '"target": 8' '"label": "Bag"' '"logit": ' '"prob": ' \
    "\"outputs\": {\"png\": \"$OUT/j.png\", \"npy\": \"$OUT/j.npy\"}" '"scalars": {"completeness_gap": '; do
    grep -qF -- "$key" "$TMP/out" || fail "--json lacks $key: $(cat "$TMP/out")"
done
grep -q '^{.*}$' "$TMP/out" || fail "--json: not one object per line"

# --target picks the class explained.
expect_exit 0 "--target 3" -- "$DMBP" explain "$VGG" "$PNG" --method gxi --target 3 --json -o "$OUT/t"
grep -qF '"target": 3, "label": "Dress"' "$TMP/out" || fail "--target 3: $(cat "$TMP/out")"
rm -rf "$OUT"; mkdir "$OUT"

# Refused: usage errors (2), before anything is written.
refused 2 "--target '10'" "--target 10" -- explain "$VGG" "$PNG" --method gxi --target 10 -o "$OUT/x"
refused 2 "--method 'nope'" "--method nope" -- explain "$VGG" "$PNG" --method nope -o "$OUT/x"
refused 2 "nope" "--layer nope" -- explain "$VGG" "$PNG" --method gradcam --layer nope -o "$OUT/x"
refused 2 "--steps" "--steps 0" -- explain "$VGG" "$PNG" --method ig --steps 0 -o "$OUT/x"
refused 2 "--iters" "--iters 0" -- explain "$VGG" "$PNG" --iters 0 -o "$OUT/x"
refused 2 "--tol" "--tol -1" -- explain "$VGG" "$PNG" --tol -1 -o "$OUT/x"
refused 2 "--tol applies only" "--tol without dmbp" -- explain "$VGG" "$PNG" --method gxi --tol 0.1 -o "$OUT/x"
refused 2 "--w-sign" "--w-sign nan" -- explain "$VGG" "$PNG" --w-sign nan -o "$OUT/x"
refused 2 "--w-sparsity" "--w-sparsity -1" -- explain "$VGG" "$PNG" --w-sparsity -1 -o "$OUT/x"
refused 2 "--preset 'nope'" "--preset nope" -- explain "$VGG" "$PNG" --preset nope -o "$OUT/x"
refused 2 "--window applies only to occlusion" "--window with gxi" -- explain "$VGG" "$PNG" --method gxi --window 3 -o "$OUT/x"
refused 2 "--grid applies only to rise" "--grid with occlusion" -- explain "$VGG" "$PNG" --method occlusion --grid 3 -o "$OUT/x"
refused 2 "occlusion.window 29 (dmbp --window): larger than the 28x28 model input" "--window 29" -- explain "$VGG" "$PNG" --method occlusion --window 29 -o "$OUT/x"
refused 2 "--keep '1.5'" "--keep 1.5" -- explain "$VGG" "$PNG" --method rise --keep 1.5 -o "$OUT/x"
refused 2 "rise.grid 29 (dmbp --grid): more cells than pixels of the 28x28 model input" "--grid 29" -- explain "$VGG" "$PNG" --method rise --grid 29 -o "$OUT/x"
refused 2 "--composite applies only to lrp" "--composite with gxi" -- explain "$VGG" "$PNG" --method gxi --composite epsilon -o "$OUT/x"
refused 2 "--epsilon '0'" "--epsilon 0" -- explain "$VGG" "$PNG" --method lrp --epsilon 0 -o "$OUT/x"
refused 2 "--composite 'zennit'" "--composite zennit" -- explain "$VGG" "$PNG" --method lrp --composite zennit -o "$OUT/x"
refused 5 "LRP has no rule for op Sub" "lrp on ConvNeXt" -- explain "$top_srcdir/tests/ref/data/convnext_tiny_small_op13.onnx" "$MODELS/evidence/test_00000.png" --method lrp --no-resize -o "$OUT/x"
for c in epsilon epsilon-plus epsilon-gamma-box epsilon-alpha2-beta1 epsilon-alpha1-beta0; do
    expect_exit 0 "lrp --composite $c" -- "$DMBP" explain "$VGG" "$PNG" --method lrp --composite $c --epsilon 1e-5 --gamma 0.5 --json -o "$TMP/lrp-$c" &&
        { grep -q '"conservation": [-0-9.e+]*' "$TMP/out" || fail "lrp $c: no conservation: $(cat "$TMP/out")"; }
done
refused 2 "no layer 'nope'" "scorecam --layer nope" -- explain "$VGG" "$PNG" --method scorecam --layer nope -o "$OUT/x"
refused 2 "--steps" "--steps with saliency" -- explain "$VGG" "$PNG" --method saliency --steps 4 -o "$OUT/x"
refused 2 "--masks" "--masks with gxi" -- explain "$VGG" "$PNG" --method gxi --masks "$OUT/m.json" -o "$OUT/x"
refused 2 "unknown option '--bogus'" "unknown option" -- explain "$VGG" "$PNG" --bogus
refused 2 "no images" "no images" -- explain "$VGG"
refused 2 "would both write" "same output twice" -- explain "$VGG" "$PNG" "$PNG" --method gxi
# Files: 3 when an output cannot be written, 6 when sizes differ.
refused 3 "$OUT/nowhere" "unwritable -o directory" -- explain "$VGG" "$PNG" --method gxi -o "$OUT/nowhere/x"
# (each image is explained and written when its turn comes: the image that
# does not fit comes first, so that nothing is written)
refused 6 "pre_rgb_300x200.png" "an image the model does not take" -- explain "$VGG" "$IMG/pre_rgb_300x200.png" "$PNG" --method gxi --no-resize --crop 0 -o "$OUT/x"
# A write that fails after the computation (the .png is taken by a
# directory): status 3, nothing else written, no temporary file left.
mkdir "$OUT/busy.png"
if expect_exit 3 "output taken by a directory" -- "$DMBP" explain "$VGG" "$PNG" --method gxi -o "$OUT/busy"; then
    [ "$(ls -A "$OUT")" = busy.png ] || fail "output taken by a directory: left $(ls -A "$OUT")"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "output taken by a directory: stderr $(cat "$TMP/err")"
fi
rm -rf "$OUT"; mkdir "$OUT"

# DMBP (few iterations): five files, the .npy 5xCxHxW, the masks JSON.
if expect_exit 0 "dmbp" -- "$DMBP" explain "$VGG" "$PNG" --iters 5 -o "$OUT/d" --masks "$OUT/d.json" --json; then
    for f in d.png d-pos.png d-neg.png d-mappings.png; do
        is_png "$OUT/$f" || fail "dmbp: $f is not a PNG"
    done
    npy_shape "$OUT/d.npy" "5, 1, 28, 28" || fail "dmbp: d.npy header: $(head -c 80 "$OUT/d.npy" | tr -cd '[:print:]')"
    for key in '"method": "dmbp"' '"pos": ' '"neg": ' '"mappings": ' '"masks": ' \
        '"F_pos": ' '"F_neg": ' '"F_nuisance": ' '"loss": ' '"iterations": 5'; do
        grep -qF -- "$key" "$TMP/out" || fail "dmbp --json lacks $key: $(cat "$TMP/out")"
    done
    grep -q '"layers": \[{"name": ' "$OUT/d.json" || fail "dmbp --masks: $(head -c 200 "$OUT/d.json")"
    [ -s "$TMP/err" ] && fail "dmbp: stderr not empty (not a terminal): $(cat "$TMP/err")"
fi
expect_exit 0 "dmbp text" -- "$DMBP" explain "$VGG" "$PNG" --iters 5 --preset evidence --w-sign 1 -o "$OUT/e" &&
    { grep -q " -> $OUT/e.png F+ [-0-9.e+]* F- [-0-9.e+]* Fn [-0-9.e+]*$" "$TMP/out" || fail "dmbp text: $(cat "$TMP/out")"; }

# dmbp masks: valid JSON with one entry per mask layer, and the top filters.
if expect_exit 0 "masks" -- "$DMBP" masks "$VGG" "$PNG" --iters 5 --top 3 -o "$OUT/m.json"; then
    grep -q '^{"image": ".*", "target": 8, "layers": \[{"name": "[^"]*", "channels": [0-9]*, "m_pos": \[' "$OUT/m.json" ||
        fail "masks: $(head -c 200 "$OUT/m.json")"
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["layers"] and all(len(l["m_pos"]) == l["channels"] == len(l["m_neg"]) for l in d["layers"])' "$OUT/m.json" ||
            fail "masks: not valid JSON"
    fi
    grep -q "^  m+  [0-9]*:[0-9.]*  [0-9]*:[0-9.]*  [0-9]*:[0-9.]*$" "$TMP/out" || fail "masks: stdout: $(cat "$TMP/out")"
fi
( cd "$OUT" && "$DMBP" masks "$VGG" "$PNG" --iters 2 --quiet >/dev/null 2>&1 ) && [ -f "$OUT/bag-masks.json" ] ||
    fail "masks: default output name"
rm -rf "$OUT"; mkdir "$OUT"
refused 2 "--method is an option of explain, render only" "masks --method" -- masks "$VGG" "$PNG" --method gxi -o "$OUT/m.json"
refused 2 "one image" "masks two images" -- masks "$VGG" "$PNG" "$PNG" -o "$OUT/m.json"
refused 3 "$OUT/nowhere" "masks unwritable" -- masks "$VGG" "$PNG" --iters 1 -o "$OUT/nowhere/m.json"
finish
