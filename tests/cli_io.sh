#!/bin/sh
# Inputs and outputs of the program (issue 10): output names that never
# surprise (-o, -O, --force, inputs never overwritten), directories and
# standard input as IMAGE, targets by label and rank (--target, --targets),
# --labels, info --layers, and write errors on standard output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

VGG="$MODELS/fmnist_vgg.onnx"
S="$MODELS/samples"
W="$TMP/w"
mkdir "$W"
cp "$S/coat.png" "$W/coat.png"

# ---- outputs ---------------------------------------------------------------

# -o naming the input's stem would overwrite coat.png: refused, even with
# --force, and the input is untouched.
(cd "$W" && refused 2 "refusing to overwrite the input" "-o coat" -- "$DMBP" explain "$VGG" coat.png --method gxi -o coat)
cmp -s "$W/coat.png" "$S/coat.png" || fail "-o coat: coat.png changed"
(cd "$W" && refused 2 "refusing to overwrite the input" "-o coat --force" -- "$DMBP" explain "$VGG" coat.png --method gxi -o coat --force)
cmp -s "$W/coat.png" "$S/coat.png" || fail "-o coat --force: coat.png changed"
[ "$(ls "$W")" = coat.png ] || fail "-o coat: left files: $(ls "$W")"

# -o outdir/ is a directory, not the hidden files outdir/.png.
(cd "$W" && expect_exit 0 "-o outdir/" -- "$DMBP" explain "$VGG" coat.png --method gxi -o outdir/)
[ -s "$W/outdir/coat-gxi.png" ] && [ -s "$W/outdir/coat-gxi.npy" ] || fail "-o outdir/: $(ls -A "$W/outdir" 2>&1)"
[ -z "$(ls -A "$W/outdir" | grep '^\.')" ] || fail "-o outdir/: hidden files $(ls -A "$W/outdir")"
# An existing directory without the slash is the same.
(cd "$W" && expect_exit 0 "-o outdir" -- "$DMBP" explain "$VGG" coat.png --method saliency -o outdir)
[ -s "$W/outdir/coat-saliency.png" ] || fail "-o outdir (a directory): $(ls -A "$W/outdir")"

# -o out.png: no out.png.png.
(cd "$W" && expect_exit 0 "-o out.png" -- "$DMBP" explain "$VGG" coat.png --method gxi -o out.png)
[ -s "$W/out.png" ] && [ -s "$W/out.npy" ] || fail "-o out.png: $(ls "$W")"
[ ! -e "$W/out.png.png" ] || fail "-o out.png: wrote out.png.png"

# An existing file the run did not create: refused, then --force.
(cd "$W" && refused 2 "--force overwrites it" "existing out.png" -- "$DMBP" explain "$VGG" coat.png --method gxi -o out.png)
(cd "$W" && expect_exit 0 "existing out.png --force" -- "$DMBP" explain "$VGG" coat.png --method gxi -o out.png --force)

# Several images with -o: zero-padded numbers and their stems, in order.
expect_exit 0 "-o several" -- "$DMBP" explain "$VGG" "$S/bag.png" "$S/coat.png" --method gxi -o "$W/many"
[ -s "$W/many-01-bag.png" ] && [ -s "$W/many-02-coat.png" ] || fail "-o several: $(ls "$W")"

# -O DIR (created) writes DIR/<stem>-<method>.
expect_exit 0 "-O" -- "$DMBP" explain "$VGG" "$S/bag.png" "$S/dress.png" --method gxi -O "$W/o"
[ -s "$W/o/bag-gxi.png" ] && [ -s "$W/o/dress-gxi.npy" ] || fail "-O: $(ls "$W/o" 2>&1)"
# One process: progress, but none of an MPI run's ranks and manifest path.
grep -q "2/2 images" "$TMP/err" || fail "-O: no progress line: $(cat "$TMP/err")"
grep -q "rank\|manifest\|lost" "$TMP/err" && fail "-O: MPI chatter in one process: $(cat "$TMP/err")"
expect_exit 0 "--output-dir=" -- "$DMBP" explain "$VGG" "$S/bag.png" --method dmbp --iters 2 --quiet --output-dir="$W/o"
for f in bag-dmbp.png bag-dmbp-pos.png bag-dmbp-neg.png bag-dmbp-mappings.png bag-dmbp.npy; do
    [ -s "$W/o/$f" ] || fail "--output-dir dmbp: no $f"
done
refused 2 "exclude each other" "-o and -O" -- "$DMBP" explain "$VGG" "$S/bag.png" -o "$W/x" -O "$W/o"
refused 3 "cannot create the output directory" "-O in a missing parent" -- "$DMBP" explain "$VGG" "$S/bag.png" -O "$W/no/such"

# masks: its default file is not written over an existing one.
(cd "$W" && expect_exit 0 "masks" -- "$DMBP" masks "$VGG" coat.png --iters 2 --quiet)
[ -s "$W/coat-masks.json" ] || fail "masks: no coat-masks.json"
(cd "$W" && refused 2 "--force overwrites it" "masks again" -- "$DMBP" masks "$VGG" coat.png --iters 2)
(cd "$W" && expect_exit 0 "masks --force" -- "$DMBP" masks "$VGG" coat.png --iters 2 --force)
(cd "$W" && expect_exit 0 "masks --json" -- "$DMBP" masks "$VGG" coat.png --iters 2 --force --json)
[ "$(wc -l <"$TMP/out")" -eq 1 ] && grep -q '^{"image": "coat.png", "target": 4, "layers": \[{"name": ' "$TMP/out" ||
    fail "masks --json: not the masks document: $(cut -c1-200 "$TMP/out")"

# predict and masks have the image-set mode too (-O DIR: one JSON file per
# image and the manifest; tests/cli_mpi.sh runs them on MPI ranks).
expect_exit 0 "predict -O" -- "$DMBP" predict "$VGG" "$S/bag.png" "$S/coat.png" -O "$W/po" --quiet
[ -s "$W/po/bag-predict.json" ] && [ -s "$W/po/coat-predict.json" ] &&
    [ "$(grep -c '"status": "ok"' "$W/po/manifest.jsonl")" -eq 2 ] || fail "predict -O: $(ls "$W/po" 2>&1)"
grep -q '"outputs": {"json": ".*/po/bag-predict.json"}' "$W/po/manifest.jsonl" || fail "predict -O: manifest $(cat "$W/po/manifest.jsonl")"
refused 2 "--force overwrites it" "predict -O again" -- "$DMBP" predict "$VGG" "$S/bag.png" -O "$W/po"
refused 2 "would both write" "predict -O, one stem twice" -- "$DMBP" predict "$VGG" "$S/coat.png" "$W/coat.png" -O "$W/p2"
refused 2 "need --output-dir" "predict --resume without -O" -- "$DMBP" predict "$VGG" "$S/bag.png" --resume
expect_exit 0 "masks -O" -- "$DMBP" masks "$VGG" "$S/bag.png" "$S/coat.png" --iters 2 -O "$W/mo" --quiet
[ -s "$W/mo/bag-masks.json" ] && [ -s "$W/mo/coat-masks.json" ] || fail "masks -O: $(ls "$W/mo" 2>&1)"
refused 2 "exclude each other" "masks -o and -O" -- "$DMBP" masks "$VGG" "$S/bag.png" -o "$W/m.json" -O "$W/mo"
refused 2 "one image at a time" "masks, two images without -O" -- "$DMBP" masks "$VGG" "$S/bag.png" "$S/coat.png"

# ---- IMAGE: directories and standard input --------------------------------

D="$TMP/imgs"
mkdir "$D"
cp "$S/trouser.png" "$D/b.png"
cp "$S/bag.png" "$D/a.PNG"
cp "$S/coat.png" "$D/c.truth.png"
echo "not an image" >"$D/notes.txt"
expect_exit 0 "predict DIR" -- "$DMBP" predict "$VGG" "$D" --top 1
[ "$(grep -c "^$D/" "$TMP/out")" -eq 2 ] || fail "predict DIR: $(cat "$TMP/out")"
[ "$(grep "^$D/" "$TMP/out" | head -1)" = "$D/a.PNG" ] || fail "predict DIR: not sorted: $(cat "$TMP/out")"
grep -q "truth" "$TMP/out" && fail "predict DIR: read the .truth.png file"
grep -q "Trouser" "$TMP/out" || fail "predict DIR: b.png is a trouser: $(cat "$TMP/out")"
mkdir "$TMP/empty"
refused 3 "no PNG or JPEG file" "empty directory" -- "$DMBP" predict "$VGG" "$TMP/empty"
expect_exit 0 "explain DIR" -- "$DMBP" explain "$VGG" "$D" --method gxi -O "$W/dir"
[ -s "$W/dir/a-gxi.png" ] && [ -s "$W/dir/b-gxi.png" ] || fail "explain DIR: $(ls "$W/dir")"

# - is standard input, with the same result as the file.
expect_exit 0 "predict file" -- "$DMBP" predict "$VGG" "$S/sandal.png" --json
sed 's/^{"image": "[^"]*"//' "$TMP/out" >"$TMP/file.json"
if "$DMBP" predict "$VGG" - --json <"$S/sandal.png" >"$TMP/out" 2>"$TMP/err"; then
    sed 's/^{"image": "[^"]*"//' "$TMP/out" >"$TMP/stdin.json"
    cmp -s "$TMP/file.json" "$TMP/stdin.json" || fail "predict -: differs from the file: $(cat "$TMP/stdin.json")"
else
    fail "predict -: $(cat "$TMP/err")"
fi
refused 4 "standard input" "not an image on stdin" -- sh -c "\"$DMBP\" predict \"$VGG\" - <\"$top_srcdir/README.md\""
refused 2 "given twice" "- twice" -- "$DMBP" predict "$VGG" - -
expect_exit 0 "explain -" -- sh -c "\"$DMBP\" explain \"$VGG\" - --method gxi -O \"$W/in\" <\"$S/bag.png\""
[ -s "$W/in/stdin-gxi.png" ] || fail "explain -: $(ls "$W/in" 2>&1)"

# ---- targets and labels ---------------------------------------------------

# explain prints "IMAGE: class N (LABEL) ...".
cls() { sed -n 's/^.*: class \([0-9]*\) .*/\1/p' "$TMP/out"; }
expect_exit 0 "--target LABEL" -- "$DMBP" explain "$VGG" "$S/coat.png" --method gxi --target "Ankle boot" -o "$W/t1"
[ "$(cls)" = 9 ] || fail "--target 'Ankle boot': $(cat "$TMP/out")"
expect_exit 0 "--target label, any case" -- "$DMBP" explain "$VGG" "$S/coat.png" --method gxi --target "ankle BOOT" -o "$W/t2"
[ "$(cls)" = 9 ] || fail "--target 'ankle BOOT': $(cat "$TMP/out")"
# top:2 is predict's second class.
expect_exit 0 "predict --top 2" -- "$DMBP" predict "$VGG" "$S/coat.png" --top 2
second=$(sed -n '3s/^ *\([0-9]*\) .*/\1/p' "$TMP/out")
expect_exit 0 "--target top:2" -- "$DMBP" explain "$VGG" "$S/coat.png" --method gxi --target top:2 -o "$W/t3"
[ "$(cls)" = "$second" ] || fail "--target top:2: class $(cls), predict's second is $second"
expect_exit 0 "--target top:1" -- "$DMBP" explain "$VGG" "$S/coat.png" --method gxi --target top:1 -o "$W/t4"
[ "$(cls)" = 4 ] || fail "--target top:1: $(cat "$TMP/out")"
refused 2 "a label such as" "unknown label" -- "$DMBP" explain "$VGG" "$S/coat.png" --target "Ankle bot"
refused 2 "top:K needs K from 1 to 10" "top:11" -- "$DMBP" explain "$VGG" "$S/coat.png" --target top:11
# --targets FILE: one per image.
printf 'Bag\n3\n' >"$TMP/targets"
expect_exit 0 "--targets" -- "$DMBP" explain "$VGG" "$S/coat.png" "$S/bag.png" --method gxi --targets "$TMP/targets" -O "$W/tt"
[ "$(cls | tr '\n' ' ')" = "8 3 " ] || fail "--targets: $(cat "$TMP/out")"
printf 'Bag\n' >"$TMP/one"
refused 4 "1 targets for 2 images" "--targets too short" -- "$DMBP" explain "$VGG" "$S/coat.png" "$S/bag.png" --targets "$TMP/one" -O "$W/t5"
refused 2 "exclude each other" "--target and --targets" -- "$DMBP" explain "$VGG" "$S/coat.png" --target 1 --targets "$TMP/one"
# --labels: printed by explain, used to match --target, read by eval.
seq 0 9 | sed 's/^/thing-/' >"$TMP/labels"
expect_exit 0 "explain --labels" -- "$DMBP" explain "$VGG" "$S/coat.png" --method gxi --labels "$TMP/labels" --target thing-7 -o "$W/l1"
grep -q "class 7 (thing-7)" "$TMP/out" || fail "explain --labels: $(cat "$TMP/out")"
echo "$S/bag.png" >"$TMP/list"
expect_exit 0 "eval --labels" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi --randomization-images 0 --labels "$TMP/labels" --csv "$W/e.csv" --target thing-8 --quiet
refused 2 "'Bag'" "eval: label of the model, not of --labels" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi --labels "$TMP/labels" --target Bag
grep -q "thing-8" "$W/e.csv" || fail "eval --labels: the CSV lacks thing-8: $(cat "$W/e.csv")"

# ---- info --layers -----------------------------------------------------------

expect_exit 0 "info --layers" -- "$DMBP" info "$VGG" --layers
[ "$(grep -c '^  [0-9]' "$TMP/out")" -eq 17 ] || fail "info --layers: not 17 layers: $(cat "$TMP/out")"
[ "$(grep -c '^  [0-9].* yes (' "$TMP/out")" -eq 6 ] || fail "info --layers: not 6 mask sites (5 Conv, 1 hidden Gemm)"
grep -q '/features/features.10/Conv *Conv *\[1, 128, 7, 7\] *yes (128)' "$TMP/out" || fail "info --layers: conv 10 line: $(grep features.10 "$TMP/out")"
grep -q '/classifier/classifier.4/Gemm *Gemm *\[1, 10\] *-' "$TMP/out" || fail "info --layers: the classifier is not a mask site"
layer=$(grep 'features.7/Conv' "$TMP/out" | awk '{print $2}')
expect_exit 0 "gradcam --layer from info --layers" -- "$DMBP" explain "$VGG" "$S/bag.png" --method gradcam --layer "$layer" -o "$W/gc"
expect_exit 0 "info --layers --json" -- "$DMBP" info "$VGG" --layers --json
grep -q '"layers": \[{"name": "/features/features.0/Conv", "op": "Conv", "shape": \[1, 32, 28, 28\], "mask_site": true' "$TMP/out" || fail "info --layers --json: $(cut -c1-300 "$TMP/out")"

# ---- write errors ------------------------------------------------------------

if [ -w /dev/full ]; then
    for cmd in "info $VGG" "predict $VGG $S/bag.png" "--help" "--version" "explain --help" \
               "explain $VGG $S/bag.png --method gxi -o $W/full --force"; do
        # shellcheck disable=SC2086
        refused 3 "standard output: write error" "$cmd >/dev/full" -- sh -c "\"$DMBP\" $cmd >/dev/full"
    done
fi
finish
