#!/bin/sh
# dmbp eval on a few shipped samples with cheap methods and a 3-iteration
# DMBP: the table names every metric, the CSV/JSON/SVG/Markdown files are
# what dmbp(1) says, the image sources (list file, directory, IDX3 of the
# Debian Fashion-MNIST package when installed) agree, and bad input is
# refused with the documented status, one stderr line and no file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

VGG="$MODELS/fmnist_vgg.onnx"
SAMPLES="$MODELS/samples"
IDX_FILE=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
OUT="$TMP/out.d"
mkdir "$OUT"
# Four of the samples, by name: what the directory gives first.
ls "$SAMPLES"/*.png | sort | head -n 4 >"$TMP/list"
mkdir "$TMP/four"
while read -r p; do cp "$p" "$TMP/four/"; done <"$TMP/list"
CHEAP="--methods gxi,gradcam,dmbp --iters 3 --randomization-images 2"

# no_files DESCRIPTION: nothing was written to $OUT.
no_files() {
    [ -z "$(ls -A "$OUT")" ] || fail "$1: left files: $(ls -A "$OUT")"
    rm -rf "$OUT"; mkdir "$OUT"
}

# refused CODE NEEDLE DESCRIPTION -- ARGS...: eval with ARGS fails with
# CODE, one stderr line naming NEEDLE, and writes nothing.
refused() {
    code=$1; needle=$2; what=$3; shift 4
    if expect_exit "$code" "$what" -- "$DMBP" eval "$@"; then
        lines=$(wc -l <"$TMP/err")
        [ "$lines" -eq 1 ] || fail "$what: $lines lines on stderr: $(cat "$TMP/err")"
        grep -q "^dmbp: " "$TMP/err" || fail "$what: stderr does not start with 'dmbp: '"
        grep -qF -- "$needle" "$TMP/err" || fail "$what: stderr lacks '$needle': $(cat "$TMP/err")"
    fi
    no_files "$what"
}

# The whole run: a list file, every output.
# shellcheck disable=SC2086 # $CHEAP is several words
if expect_exit 0 "eval" -- "$DMBP" eval "$VGG" --images "$TMP/list" $CHEAP --against gxi \
    --csv "$OUT/e.csv" --json-out "$OUT/e.json" --plot "$OUT/e.svg" --markdown "$OUT/e.md"; then
    [ -s "$TMP/err" ] && fail "eval: stderr not empty (not a terminal): $(cat "$TMP/err")"
    # The table: a heading with every metric, a row per method with a
    # number (and its standard error) in every applicable column.
    for h in deletion insertion "neg 5%" "neg 10%" "neg 20%" AOPC "rand rho" s/image; do
        grep -q "^method .*$h" "$TMP/out" || fail "table lacks '$h': $(cat "$TMP/out")"
    done
    num='-\{0,1\}[0-9][0-9]*\.[0-9]* ([0-9.]*)'
    grep -q "^gxi  *$num  *$num  *$num  *$num  *$num  *$num  *$num  *[0-9.]*$" "$TMP/out" ||
        fail "table: gxi row: $(cat "$TMP/out")"
    grep -q "^gradcam  *$num  *$num  *n/a  *n/a  *n/a  *$num  *$num  *[0-9.]*$" "$TMP/out" ||
        fail "table: gradcam row (no negative evidence): $(cat "$TMP/out")"
    grep -q "^dmbp  *$num  *$num  *$num" "$TMP/out" || fail "table: dmbp row: $(cat "$TMP/out")"
    grep -q "^4 images\|: 4 images" "$TMP/out" || fail "table: image count: $(head -n 1 "$TMP/out")"
    grep -q "^paired differences, method - gxi" "$TMP/out" || fail "table: no paired differences"
    grep -q "^1  *[^ ]*Gemm  *[-0-9.]*  *[-0-9.]*  *[-0-9.]*$" "$TMP/out" ||
        fail "table: randomisation stage 1: $(cat "$TMP/out")"
    # CSV: the header, one row per image and method, in image order.
    header="image,index,method,target,label,true_class,true_label,prob,deletion_auc,insertion_auc,neg_rise_5,neg_rise_10,neg_rise_20,aopc,randomization_rho"
    head -n 1 "$OUT/e.csv" | tr -d '\r' | grep -q "^$header,rho_stage_1,.*,rho_stage_7$" ||
        fail "csv header: $(head -n 1 "$OUT/e.csv")"
    [ "$(wc -l <"$OUT/e.csv")" -eq 13 ] || fail "csv: $(wc -l <"$OUT/e.csv") lines, want 1 + 4 x 3"
    [ "$(tr -d '\r' <"$OUT/e.csv" | sed -n 2p | cut -d, -f1-3)" = "$(head -n 1 "$TMP/list"),0,gxi" ] ||
        fail "csv row 1: $(sed -n 2p "$OUT/e.csv")"
    tr -d '\r' <"$OUT/e.csv" | sed -n 3p | grep -q ',0,gradcam,[0-9],[^,]*,[0-9]*,[^,]*,[0-9.e-]*,[0-9.e-]*,[0-9.e-]*,,,,[-0-9.e]*,' ||
        fail "csv gradcam row (empty negative evidence): $(sed -n 3p "$OUT/e.csv")"
    awk -F, 'NR > 1 && NF != 22 { bad = 1 } END { exit bad }' "$OUT/e.csv" || fail "csv: a row without 22 fields"
    # JSON: settings and one object per method.
    for key in '"model": ' '"n": 4' '"curve_points": 21' '"substrate": "zero"' '"insertion_start": "blur"' \
        '"method": "gxi"' '"method": "gradcam"' '"method": "dmbp"' '"deletion_auc": {"mean": ' \
        '"against": {"method": "gxi"' '"randomization_layers": [' \
        '"library": {"name": "libdmbp", "version": "' '"cpu": ' '"date": "20' \
        '"settings": {"max_lanes": ' '"iterations": 3' '"w_completeness": ' \
        '"path_refresh": 1' '"fix_negative": 1'; do
        grep -qF -- "$key" "$OUT/e.json" || fail "json lacks $key"
    done
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["methods"]) == 3 and all(len(m["curves"]["deletion"]) == 21 for m in d["methods"])' "$OUT/e.json" ||
            fail "json: not valid or wrong shape"
    fi
    # SVG: one element, opened and closed, with both panels and a legend.
    [ "$(head -c 4 "$OUT/e.svg")" = "<svg" ] || fail "svg: does not start with <svg"
    [ "$(tail -n 1 "$OUT/e.svg")" = "</svg>" ] || fail "svg: does not end with </svg>"
    [ "$(grep -c '<polyline' "$OUT/e.svg")" -eq 6 ] || fail "svg: $(grep -c '<polyline' "$OUT/e.svg") curves, want 2 x 3"
    grep -q "Deletion" "$OUT/e.svg" && grep -q "Insertion" "$OUT/e.svg" || fail "svg: panel titles"
    if command -v xmllint >/dev/null 2>&1; then
        xmllint --noout "$OUT/e.svg" 2>/dev/null || fail "svg: not well-formed XML"
    fi
    grep -q "^| method | deletion AUC" "$OUT/e.md" && grep -q "^| dmbp | " "$OUT/e.md" ||
        fail "markdown: $(head -n 5 "$OUT/e.md")"
    [ "$(ls -A "$OUT" | wc -l)" -eq 4 ] || fail "eval: files left: $(ls -A "$OUT")"
fi
rm -rf "$OUT"; mkdir "$OUT"

# A directory gives the same images in name order; --offset and --n pick.
expect_exit 0 "directory" -- "$DMBP" eval "$VGG" --images "$TMP/four" --methods gxi \
    --randomization-images 0 --csv "$OUT/d.csv" --offset 1 --n 2
tr -d '\r' <"$OUT/d.csv" | cut -d, -f1-3 | sed 1d >"$TMP/rows"
printf '%s,1,gxi\n%s,2,gxi\n' "$TMP/four/$(sed -n 2p "$TMP/list" | xargs basename)" \
    "$TMP/four/$(sed -n 3p "$TMP/list" | xargs basename)" >"$TMP/want"
cmp -s "$TMP/rows" "$TMP/want" || fail "directory --offset 1 --n 2: $(cat "$TMP/rows")"
rm -rf "$OUT"; mkdir "$OUT"

# IDX3 (Debian's dataset-fashion-mnist): the first 3 test images are an
# ankle boot, a pullover and a trouser, which the model gets right.
if [ -r "$IDX_FILE" ]; then
    if expect_exit 0 "idx" -- "$DMBP" eval "$VGG" --images "idx:$IDX_FILE" --n 3 --methods saliency --abs \
        --randomization-images 0 --csv "$OUT/i.csv"; then
        tr -d '\r' <"$OUT/i.csv" | sed 1d | cut -d, -f1-5 >"$TMP/rows"
        printf '%s\n' "$IDX_FILE#0,0,saliency,9,Ankle boot" "$IDX_FILE#1,1,saliency,2,Pullover" \
            "$IDX_FILE#2,2,saliency,1,Trouser" >"$TMP/want"
        cmp -s "$TMP/rows" "$TMP/want" || fail "idx: rows $(cat "$TMP/rows")"
        grep -q "^saliency .* n/a  *n/a  *n/a " "$TMP/out" || fail "idx: saliency --abs has no negative evidence: $(cat "$TMP/out")"
    fi
    rm -rf "$OUT"; mkdir "$OUT"
    # For papers (#25 item 5): each image's true class from the labels file
    # beside the images (t10k-labels-idx1-ubyte.gz: 9, 2, 1, 1, ...), as
    # the target and in the CSV's true_class and true_label columns.
    if expect_exit 0 "idx --targets true" -- "$DMBP" eval "$VGG" --images "idx:$IDX_FILE" --n 3 --offset 1 \
        --methods gxi --targets true --randomization-images 0 --csv "$OUT/t.csv" --json-out "$OUT/t.json"; then
        tr -d '\r' <"$OUT/t.csv" | sed 1d | cut -d, -f1-7 >"$TMP/rows"
        printf '%s\n' "$IDX_FILE#1,1,gxi,2,Pullover,2,Pullover" "$IDX_FILE#2,2,gxi,1,Trouser,1,Trouser" \
            "$IDX_FILE#3,3,gxi,1,Trouser,1,Trouser" >"$TMP/want"
        cmp -s "$TMP/rows" "$TMP/want" || fail "idx --targets true: rows $(cat "$TMP/rows")"
        grep -qF '"target": "true"' "$OUT/t.json" || fail "idx --targets true: json target"
    fi
    rm -rf "$OUT"; mkdir "$OUT"
    refused 2 "--offset 10000" "idx offset past the end" -- "$VGG" --images "idx:$IDX_FILE" --offset 10000 --csv "$OUT/x.csv"
else
    echo "$(basename "$0"): $IDX_FILE not installed (apt-get install dataset-fashion-mnist): IDX not tested"
fi
rm -rf "$OUT"; mkdir "$OUT"

# --true-labels FILE: one class or label per image of the list; with
# --targets true they, not the top classes, are explained.
printf 'Bag\n3\nCoat\n5\n' >"$TMP/truth"
if expect_exit 0 "--true-labels" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi --targets true \
    --true-labels "$TMP/truth" --randomization-images 0 --csv "$OUT/l.csv"; then
    tr -d '\r' <"$OUT/l.csv" | sed 1d | cut -d, -f4,6 >"$TMP/rows"
    printf '8,8\n3,3\n4,4\n5,5\n' >"$TMP/want"
    cmp -s "$TMP/rows" "$TMP/want" || fail "--true-labels: target,true_class $(cat "$TMP/rows")"
fi
rm -rf "$OUT"; mkdir "$OUT"
printf 'Bag\n3\nCaot\n5\n' >"$TMP/badtruth"
refused 2 "has no true label" "--targets true without labels" -- "$VGG" --images "$TMP/list" --methods gxi \
    --targets true --csv "$OUT/x.csv"
refused 2 "eval takes only 'true'" "--targets FILE" -- "$VGG" --images "$TMP/list" --methods gxi \
    --targets "$TMP/truth" --csv "$OUT/x.csv"
refused 4 "$TMP/badtruth: line 3 'Caot'" "bad --true-labels line" -- "$VGG" --images "$TMP/list" --methods gxi \
    --true-labels "$TMP/badtruth" --csv "$OUT/x.csv"
printf 'Bag\n' >"$TMP/shorttruth"
refused 4 "1 lines, no true label for image 1" "short --true-labels" -- "$VGG" --images "$TMP/list" --methods gxi \
    --true-labels "$TMP/shorttruth" --csv "$OUT/x.csv"

# Refused before any work: usage (2), unreadable input (3), bad format (4).
refused 2 "unknown method 'nope'" "unknown method" -- "$VGG" --images "$TMP/list" --methods gxi,nope --csv "$OUT/x.csv"
refused 2 "listed twice" "method twice" -- "$VGG" --images "$TMP/list" --methods gxi,gxi --csv "$OUT/x.csv"
refused 2 "--n '0'" "--n 0" -- "$VGG" --images "$TMP/list" --n 0 --csv "$OUT/x.csv"
refused 2 "--substrate 'sky'" "bad substrate" -- "$VGG" --images "$TMP/list" --substrate sky --csv "$OUT/x.csv"
refused 2 "--insertion-start 'sky'" "bad insertion start" -- "$VGG" --images "$TMP/list" --insertion-start sky --csv "$OUT/x.csv"
refused 2 "--images is required" "no --images" -- "$VGG" --methods gxi --csv "$OUT/x.csv"
refused 2 "--against ig: not among" "--against outside --methods" -- "$VGG" --images "$TMP/list" --methods gxi --against ig --csv "$OUT/x.csv"
refused 2 "exclude each other" "--curve-steps and --step-pixels" -- "$VGG" --images "$TMP/list" --curve-steps 10 --step-pixels 224 --csv "$OUT/x.csv"
refused 2 "--iters applies only to dmbp" "dmbp option without dmbp" -- "$VGG" --images "$TMP/list" --methods gxi --iters 3 --csv "$OUT/x.csv"
refused 2 "unknown option '--bogus'" "unknown option" -- "$VGG" --images "$TMP/list" --bogus
refused 2 "a PNG image" "a PNG as --images" -- "$VGG" --images "$SAMPLES/bag.png" --methods gxi --csv "$OUT/x.csv"
refused 3 "$TMP/missing" "missing images" -- "$VGG" --images "$TMP/missing" --csv "$OUT/x.csv"
refused 3 "$OUT/nowhere" "unwritable --csv" -- "$VGG" --images "$TMP/list" --methods gxi --csv "$OUT/nowhere/x.csv"
refused 4 "not an IDX3 file" "idx: of a PNG" -- "$VGG" --images "idx:$SAMPLES/bag.png" --methods gxi --csv "$OUT/x.csv"
echo "$TMP/missing.png" >"$TMP/badlist"
refused 3 "$TMP/missing.png" "list naming a missing PNG" -- "$VGG" --images "$TMP/badlist" --methods gxi --csv "$OUT/x.csv"
# --ground-truth on the evidence model's samples: a directory never takes
# its *.truth.png files as images; the six columns, a second table.
EV="$MODELS/evidence_cnn.onnx"
EVS="$MODELS/evidence"
mkdir "$TMP/ev"
for n in test_00000 test_00001 test_00002; do
    cp "$EVS/$n.png" "$EVS/$n.truth.png" "$TMP/ev/"
done
if expect_exit 0 "ground truth" -- "$DMBP" eval "$EV" --images "$TMP/ev" --methods gxi,gradcam,dmbp \
    --iters 3 --curve-steps 2 --randomization-images 0 --ground-truth --csv "$OUT/g.csv" --json-out "$OUT/g.json" \
    --markdown "$OUT/g.md"; then
    gt="pos_mass_accuracy,neg_mass_accuracy,pos_rank_accuracy,neg_rank_accuracy,pos_pointing,neg_pointing"
    head -n 1 "$OUT/g.csv" | tr -d '\r' | grep -q ",randomization_rho,$gt,rho_stage_1," ||
        fail "ground truth: csv header: $(head -n 1 "$OUT/g.csv")"
    [ "$(wc -l <"$OUT/g.csv")" -eq 10 ] || fail "ground truth: $(wc -l <"$OUT/g.csv") csv lines, want 1 + 3 x 3 (no truth as image)"
    grep -q "truth.png," "$OUT/g.csv" && fail "ground truth: a truth file evaluated as an image"
    # gradcam has no sign: empty negative columns (the 2nd, 4th, 6th).
    tr -d '\r' <"$OUT/g.csv" | awk -F, '$3 == "gradcam" && ($15 != "" || $17 != "" || $19 != "" || $14 == "") { bad = 1 } END { exit bad }' ||
        fail "ground truth: gradcam row: $(grep gradcam "$OUT/g.csv" | head -n 1)"
    tr -d '\r' <"$OUT/g.csv" | awk -F, 'NR > 1 && $3 == "dmbp" && ($14 == "" || $18 == "") { bad = 1 } END { exit bad }' ||
        fail "ground truth: dmbp row: $(grep dmbp "$OUT/g.csv" | head -n 1)"
    for h in "pos mass" "neg mass" "pos rank" "neg rank" "pos pointing" "neg pointing"; do
        grep -q "^method .*$h" "$TMP/out" || fail "ground truth: table lacks '$h'"
    done
    grep -q '"pos_mass_accuracy": {"mean": ' "$OUT/g.json" && grep -q '"ground_truth": true' "$OUT/g.json" ||
        fail "ground truth: json"
    grep -q "^| method | + mass" "$OUT/g.md" || fail "ground truth: markdown table"
fi
rm -rf "$OUT"; mkdir "$OUT"
# Without --ground-truth the directory still skips the truths.
expect_exit 0 "truths skipped" -- "$DMBP" eval "$EV" --images "$TMP/ev" --methods gxi --curve-steps 2 \
    --randomization-images 0 --csv "$OUT/s.csv"
[ "$(wc -l <"$OUT/s.csv")" -eq 4 ] || fail "truths skipped: $(wc -l <"$OUT/s.csv") csv lines, want 4"
head -n 1 "$OUT/s.csv" | grep -q pos_mass && fail "no --ground-truth: ground-truth columns present"
rm -rf "$OUT"; mkdir "$OUT"
# Bad truths: missing (3), not gray or another value (4), another size (6);
# with idx: (2).
mkdir "$TMP/evbad"
cp "$EVS/test_00000.png" "$TMP/evbad/"
refused 3 "test_00000.truth.png" "missing truth" -- "$EV" --images "$TMP/evbad" --methods gxi --ground-truth --csv "$OUT/x.csv"
cp "$EVS/test_00001.png" "$TMP/evbad/test_00000.truth.png"
refused 4 "test_00000.truth.png" "RGB truth" -- "$EV" --images "$TMP/evbad" --methods gxi --ground-truth --csv "$OUT/x.csv"
cp "$SAMPLES/bag.png" "$TMP/evbad/test_00000.truth.png"
refused 4 "test_00000.truth.png" "truth with other values" -- "$EV" --images "$TMP/evbad" --methods gxi --ground-truth --csv "$OUT/x.csv"
cp "$SAMPLES/bag.png" "$TMP/evbad/bag.png"
cp "$EVS/test_00000.truth.png" "$TMP/evbad/bag.truth.png"
rm "$TMP/evbad/test_00000.png" "$TMP/evbad/test_00000.truth.png"
refused 6 "bag.truth.png" "truth of another size" -- "$VGG" --images "$TMP/evbad" --methods gxi --ground-truth --csv "$OUT/x.csv"
# The perturbation methods and the other CAMs in every table: occlusion
# is signed (negative evidence), the others are not.
if expect_exit 0 "eval occlusion,gradcam++,scorecam,rise" -- "$DMBP" eval "$VGG" --images "$TMP/list" \
    --methods occlusion,gradcam++,scorecam,rise --window 7 --samples 16 --grid 4 --keep 0.4 \
    --randomization-images 2 --csv "$OUT/p.csv"; then
    num='-\{0,1\}[0-9][0-9]*\.[0-9]* ([0-9.]*)'
    grep -q "^occlusion  *$num  *$num  *$num  *$num  *$num  *$num  *$num  *[0-9.]*$" "$TMP/out" ||
        fail "table: occlusion row: $(cat "$TMP/out")"
    for m in gradcam++ scorecam rise; do
        grep -q "^$m  *$num  *$num  *n/a  *n/a  *n/a  *$num  *" "$TMP/out" ||
            fail "table: $m row (no negative evidence): $(cat "$TMP/out")"
    done
    [ "$(grep -c ',occlusion,' "$OUT/p.csv")" -eq 4 ] || fail "csv: occlusion rows: $(cat "$OUT/p.csv")"
fi
# LRP: signed (negative evidence), with its composite; its curves plotted.
num='-\{0,1\}[0-9][0-9]*\.[0-9]* ([0-9.]*)'
if expect_exit 0 "eval lrp" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods lrp,gxi \
    --composite epsilon-gamma-box --randomization-images 2 --csv "$OUT/l.csv" --plot "$OUT/l.svg"; then
    grep -q "^lrp  *$num  *$num  *$num  *$num  *$num  *$num  *$num  *[0-9.]*$" "$TMP/out" ||
        fail "table: lrp row: $(cat "$TMP/out")"
    grep -q 'stroke="#F0E442"' "$OUT/l.svg" || fail "plot: no lrp curve"
fi
rm -rf "$OUT"; mkdir "$OUT"
refused 2 "--window applies only to occlusion" "--window without occlusion" -- "$VGG" --images "$TMP/list" --methods gxi --window 3 --csv "$OUT/x.csv"
if [ -r "$IDX_FILE" ]; then
    refused 2 "--ground-truth needs PNG" "ground truth with idx" -- "$VGG" --images "idx:$IDX_FILE" --ground-truth --csv "$OUT/x.csv"
fi
finish
