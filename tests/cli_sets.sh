#!/bin/sh
# Image sets that cannot hurt (issue #21), one section per numbered item:
# --resume keeps the output checks, the manifest is not followed through
# links, a deep manifest line, bounded reads, targets checked once before
# the first image, one fingerprint per set, crafted records, NUL bytes in
# labels and targets, and the smaller items. Each section failed on the
# code before the issue (checked against that build).
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

VGG="$MODELS/fmnist_vgg.onnx"
RESNET="$MODELS/fmnist_resnet.onnx"
S="$MODELS/samples"
cd "$TMP" || exit 1

# computed N DESCRIPTION: the last run printed N result lines.
computed() {
    got=$(grep -c ' -> ' "$TMP/out")
    [ "$got" -eq "$1" ] || fail "$2: computed $got images, want $1: $(cat "$TMP/out") $(cat "$TMP/err")"
}

# ---- 1. --resume keeps every output check ------------------------------
mkdir d1
cp "$S/bag.png" d1/a.png
cp "$S/coat.png" d1/a-saliency.png
refused 2 "refusing to overwrite the input" "1: input as output, --force" -- \
    "$DMBP" explain "$VGG" d1 -O d1 --method saliency --force
refused 2 "refusing to overwrite the input" "1: input as output, --resume" -- \
    "$DMBP" explain "$VGG" d1 -O d1 --method saliency --resume
expect_exit 2 "1: input as output, --resume --force" -- \
    "$DMBP" explain "$VGG" d1 -O d1 --method saliency --resume --force
cmp -s d1/a-saliency.png "$S/coat.png" || fail "1: the input image was overwritten"
# No manifest: a file the run did not make needs --force, --resume or not.
mkdir d2
echo mine >d2/bag-saliency.npy
refused 2 "--force overwrites it" "1: --resume over a file of another" -- \
    "$DMBP" explain "$VGG" "$S/bag.png" -O d2 --method saliency --resume
[ "$(cat d2/bag-saliency.npy)" = mine ] || fail "1: --resume replaced bag-saliency.npy"
mkdir d3
echo mine >d3/bag-predict.json
refused 2 "--force overwrites it" "1: predict --resume over a file of another" -- \
    "$DMBP" predict "$VGG" "$S/bag.png" -O d3 --resume
[ "$(cat d3/bag-predict.json)" = mine ] || fail "1: predict --resume replaced bag-predict.json"
# The set's own files of an image it did not finish (killed between the
# files and the manifest line): --resume replaces them without --force.
expect_exit 0 "1: a set of two" -- "$DMBP" explain "$VGG" "$S/bag.png" "$S/coat.png" \
    -O d4 --method saliency --quiet
grep -v '"input": "[^"]*coat.png", "status": "ok"' d4/manifest.jsonl >m && cp m d4/manifest.jsonl
expect_exit 0 "1: resume of an unfinished image" -- "$DMBP" explain "$VGG" "$S/bag.png" \
    "$S/coat.png" -O d4 --method saliency --resume
computed 1 "1: resume of an unfinished image"
grep -q "coat.png:" "$TMP/out" || fail "1: resume computed $(cat "$TMP/out")"

# ---- 2. the manifest: no links, a regular file, not an input -------------
mkdir victim d5
cp "$VGG" victim/model.onnx
ln -s ../victim/model.onnx d5/manifest.jsonl
refused 3 "symbolic link" "2: manifest linked to the model" -- \
    "$DMBP" explain victim/model.onnx "$S/bag.png" -O d5 --method saliency
refused 3 "symbolic link" "2: manifest linked to the model, --resume" -- \
    "$DMBP" explain victim/model.onnx "$S/bag.png" -O d5 --method saliency --resume --force
cmp -s victim/model.onnx "$VGG" || fail "2: the model was truncated through the manifest link"
mkdir d6
ln victim/model.onnx d6/manifest.jsonl
refused 2 "refusing to overwrite the input" "2: manifest hard-linked to the model" -- \
    "$DMBP" explain victim/model.onnx "$S/bag.png" -O d6 --method saliency --force
cmp -s victim/model.onnx "$VGG" || fail "2: the model was truncated through the hard link"
mkdir d7
mkfifo d7/manifest.jsonl
refused 3 "not a regular file" "2: manifest a FIFO" -- \
    timeout 20 "$DMBP" explain "$VGG" "$S/bag.png" -O d7 --method saliency --resume
[ -s d7/bag-saliency.png ] && fail "2: computed with a FIFO manifest"

# ---- 3. a manifest line nested deeper than the parser goes -------------
expect_exit 0 "3: a set" -- "$DMBP" explain "$VGG" "$S/bag.png" "$S/coat.png" -O d8 \
    --method saliency --quiet
{ printf '{"input": "x", "y": '; head -c 600000 /dev/zero | tr '\0' '['; echo; } >>d8/manifest.jsonl
expect_exit 0 "3: --resume past a deep line" -- "$DMBP" explain "$VGG" "$S/bag.png" \
    "$S/coat.png" -O d8 --method saliency --resume
computed 0 "3: --resume past a deep line"
grep -q "ignoring 1 unreadable line" "$TMP/err" || fail "3: deep line not reported: $(cat "$TMP/err")"

# ---- 4. bounded reads ----------------------------------------------------
# A device, standard input of zeros, a truth linked to /dev/zero: refused at
# once (the old code read until memory ran out: limited here to 2 GB of
# address space where the program runs with it; a sanitizer build does
# not, and needs no limit).
VLIMIT=2000000
( ulimit -v $VLIMIT && "$DMBP" --version ) >/dev/null 2>&1 || VLIMIT=unlimited
bounded() {
    ( ulimit -v $VLIMIT 2>/dev/null; exec timeout 20 "$@" )
}
refused 4 "not a regular file" "4: /dev/zero as an image" -- bounded "$DMBP" predict "$VGG" /dev/zero
refused 4 "bad signature" "4: zeros on standard input" -- \
    sh -c 'ulimit -v $2; timeout 20 "$0" predict "$1" - </dev/zero' "$DMBP" "$VGG" "$VLIMIT"
# A PNG signature and 40 MB of zeros on a pipe: refused once it passes the
# file size of --max-pixels 1000 (1000 x 8 bytes + 16 MiB).
refused 6 "pixel budget" "4: endless PNG on a pipe" -- sh -c \
    '{ printf "\211PNG\r\n\032\n"; head -c 40000000 /dev/zero; } | "$0" predict "$1" - --max-pixels 1000' \
    "$DMBP" "$VGG"
# A regular file over the size: refused before it is read.
{ printf '\211PNG\r\n\032\n'; head -c 17000000 /dev/zero; } >big.png
refused 6 "pixel budget" "4: a file over the size" -- \
    "$DMBP" predict "$VGG" big.png --max-pixels 1000
mkdir ev
cp "$MODELS/evidence/test_00000.png" ev/
ln -s /dev/zero ev/test_00000.truth.png
refused 4 "not a regular file" "4: truth linked to /dev/zero" -- bounded "$DMBP" eval \
    "$MODELS/evidence_cnn.onnx" --images ev --methods gxi --curve-steps 2 \
    --randomization-images 0 --ground-truth --csv ev.csv

# ---- 5. targets and options checked before the first image ---------------
mkdir set5
for i in 1 2 3 4 5; do cp "$S/bag.png" "set5/b$i.png"; done
refused 2 "--target 'Nope'" "5: bad --target under -O" -- \
    "$DMBP" explain "$VGG" set5 -O o5 --method saliency --target Nope
printf 'auto\n3\nnope\nauto\nauto\n' >t5.txt
refused 4 "t5.txt: line 3 'nope'" "5: bad --targets line under -O" -- \
    "$DMBP" explain "$VGG" set5 -O o5b --method saliency --targets t5.txt
refused 2 "--alpha '2'" "5: bad --alpha under -O" -- \
    "$DMBP" explain "$VGG" set5 -O o5c --method saliency --alpha 2
ls o5/*.png o5b/*.png o5c/*.png >/dev/null 2>&1 && fail "5: outputs written before a refusal"
# A usage problem only the first image reveals (the library checks
# Grad-CAM's layer): the set stops there with status 2, said once.
expect_exit 2 "5: unknown --layer under -O" -- "$DMBP" explain "$VGG" set5 -O o5e \
    --method gradcam --layer nope
[ "$(grep -c "no layer 'nope'" "$TMP/err")" -eq 1 ] || fail "5: unknown --layer: $(cat "$TMP/err")"
# A failed image: the manifest's error is the message printed.
echo junk >set5/b3.png
expect_exit 8 "5: a bad image" -- "$DMBP" explain "$VGG" set5 -O o5d --method saliency --quiet
grep -q '"status": "failed", "exit_status": 4, "error": "set5/b3.png: not a PNG or JPEG file (bad signature)"' \
    o5d/manifest.jsonl || fail "5: error field: $(grep failed o5d/manifest.jsonl)"

# ---- 6. one fingerprint per set -------------------------------------------
expect_exit 0 "6: a set" -- "$DMBP" explain "$VGG" "$S/bag.png" "$S/coat.png" -O d9 \
    --method saliency --quiet
head -n 1 d9/manifest.jsonl | grep -q '^{"set": {"dmbp": ".*", "command": "explain", "model": "fnv1a64:' ||
    fail "6: first record: $(head -n 1 d9/manifest.jsonl)"
grep '"status": "ok"' d9/manifest.jsonl | grep -vq '"input_size": [0-9]*, "input_mtime_ns": [0-9]*' &&
    fail "6: a record without its input's size and time"
refused 2 "--method was 'saliency', now 'gxi'" "6: another method" -- "$DMBP" explain "$VGG" \
    "$S/bag.png" "$S/coat.png" -O d9 --method gxi --resume
refused 2 "model was" "6: another model" -- "$DMBP" explain "$RESNET" \
    "$S/bag.png" "$S/coat.png" -O d9 --method saliency --resume
refused 2 "--target was 'auto', now '3'" "6: another target" -- "$DMBP" explain "$VGG" \
    "$S/bag.png" "$S/coat.png" -O d9 --method saliency --target 3 --resume
expect_exit 0 "6: another target, --force" -- "$DMBP" explain "$VGG" "$S/bag.png" \
    "$S/coat.png" -O d9 --method saliency --target 3 --resume --force
computed 2 "6: another target, --force"
# The same set, with the directory spelt "d9/": nothing to compute.
expect_exit 0 "6: resume, DIR/" -- "$DMBP" explain "$VGG" "$S/bag.png" \
    "$S/coat.png" -O d9/ --method saliency --target 3 --resume
computed 0 "6: resume, DIR/"
expect_exit 0 "6: predict set" -- "$DMBP" predict "$VGG" "$S/bag.png" -O p9/ --quiet
expect_exit 0 "6: predict resume, DIR/" -- "$DMBP" predict "$VGG" "$S/bag.png" -O p9/ --resume
grep -q "1 image already done" "$TMP/err" || fail "6: predict resume, DIR/: $(cat "$TMP/err")"
# A changed input is computed again, alone.
cp "$S/bag.png" bag.png
cp "$S/coat.png" coat.png
expect_exit 0 "6: set of copies" -- "$DMBP" explain "$VGG" bag.png coat.png -O d10 \
    --method saliency --quiet
cp "$S/sandal.png" coat.png
expect_exit 0 "6: changed input" -- "$DMBP" explain "$VGG" bag.png coat.png -O d10 \
    --method saliency --resume
computed 1 "6: changed input"
grep -q "coat.png: class 5 " "$TMP/out" || fail "6: changed input: $(cat "$TMP/out")"

# ---- 7. crafted records are not trusted ------------------------------------
expect_exit 0 "7: a set" -- "$DMBP" explain "$VGG" bag.png -O d11 --method saliency --quiet
head -n 1 d11/manifest.jsonl >fp11
ok11=$(grep '"status": "ok"' d11/manifest.jsonl)
# A name cut by \u0000.
{ cat fp11; echo "$ok11" | sed 's#"input": "bag.png"#"input": "bag.png\\u0000junk"#'; } >d11/manifest.jsonl
expect_exit 0 "7: NUL in a name" -- "$DMBP" explain "$VGG" bag.png -O d11 --method saliency \
    --resume --force
computed 1 "7: NUL in a name"
# A record without the .npy, which is gone.
{ cat fp11; echo "$ok11" | sed 's#, "npy": "[^"]*"##'; } >d11/manifest.jsonl
rm d11/bag-saliency.npy
expect_exit 0 "7: an output missing" -- "$DMBP" explain "$VGG" bag.png -O d11 --method saliency --resume
computed 1 "7: an output missing"
[ -s d11/bag-saliency.npy ] || fail "7: the missing output was not made again"
# A later failure undoes an earlier success.
{ cat fp11; echo "$ok11"; echo '{"input": "bag.png", "status": "failed", "exit_status": 4, "error": "x"}'; } \
    >d11/manifest.jsonl
expect_exit 0 "7: failed after ok" -- "$DMBP" explain "$VGG" bag.png -O d11 --method saliency --resume
computed 1 "7: failed after ok"
# An output outside DIR, or a link, proves nothing.
{ cat fp11; echo "$ok11" | sed 's#"npy": "d11/#"npy": "d11/../d11/#'; } >d11/manifest.jsonl
expect_exit 0 "7: an output outside DIR" -- "$DMBP" explain "$VGG" bag.png -O d11 --method saliency \
    --resume --force
computed 1 "7: an output outside DIR"

# ---- 8. NUL bytes and the line limit in labels and targets --------------
printf 'A\0junk\nTrouser\nPullover\nDress\nCoat\nSandal\nShirt\nSneaker\nBag\nAnkle boot\n' >nul.txt
refused 4 "nul.txt: line 1 holds a NUL byte" "8: NUL in a label" -- \
    "$DMBP" predict "$VGG" "$S/bag.png" --labels nul.txt
printf 'auto\n\0\n' >tnul.txt
refused 4 "tnul.txt: line 2 holds a NUL byte" "8: NUL in a target" -- \
    "$DMBP" explain "$VGG" "$S/bag.png" "$S/coat.png" -O d12 --method saliency --targets tnul.txt
{ head -c 4094 /dev/zero | tr '\0' x; printf '\r\n'; for i in 1 2 3 4 5 6 7 8 9; do echo "c$i"; done; } >long.txt
expect_exit 0 "8: a 4094-byte label before CRLF" -- "$DMBP" predict "$VGG" "$S/bag.png" --labels long.txt
{ head -c 4095 /dev/zero | tr '\0' x; printf '\r\n'; for i in 1 2 3 4 5 6 7 8 9; do echo "c$i"; done; } >long.txt
refused 4 "line 1 is longer than 4094 bytes" "8: a 4095-byte label" -- \
    "$DMBP" predict "$VGG" "$S/bag.png" --labels long.txt

# ---- 9. the smaller items --------------------------------------------------
mkdir ev16
cp "$MODELS/evidence/test_00000.png" ev16/
cp "$top_srcdir/tests/ref/data/truth16/test_00000.truth.png" ev16/
refused 4 "is 1 (a 16-bit PNG)" "9: 16-bit truth" -- "$DMBP" eval "$MODELS/evidence_cnn.onnx" \
    --images ev16 --methods gxi --curve-steps 2 --randomization-images 0 --ground-truth --csv ev16.csv
refused 6 "budget of 1 KiB" "9: --max-memory 1K" -- "$DMBP" predict "$VGG" "$S/bag.png" --max-memory 1K
grep -q " 0 MiB" "$TMP/err" && fail "9: --max-memory 1K: $(cat "$TMP/err")"
# Duplicate labels: selecting one is ambiguous; label: selects a label that
# reads as a number, auto or top:K.
printf 'T\nTrouser\n7\nDup\nauto\nSandal\ntop:2\nDup\nBag\nBoot\n' >odd.txt
refused 2 "classes 3 and 7 are both labelled 'Dup'" "9: duplicate label" -- \
    "$DMBP" explain "$VGG" "$S/bag.png" --method saliency --labels odd.txt --target Dup -o x9
for pair in "label:7 2" "label:auto 4" "label:top:2 6" "7 7"; do
    spec=${pair% *}; want=${pair#* }
    expect_exit 0 "9: --target $spec" -- "$DMBP" explain "$VGG" "$S/bag.png" --method saliency \
        --labels odd.txt --target "$spec" -o x9 --force
    grep -q ": class $want " "$TMP/out" || fail "9: --target $spec: $(cat "$TMP/out")"
done
# --targets FILE is read once per process, not once per image (the old
# code: once for the count, then once per image).
if command -v strace >/dev/null 2>&1; then
    printf 'auto\nauto\nauto\nauto\n' >t9.txt
    mkdir set9
    for i in 1 2 3 4; do cp "$S/bag.png" "set9/b$i.png"; done
    # (LeakSanitizer cannot run under ptrace: off for this run.)
    expect_exit 0 "9: --targets read once" -- env \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -e trace=openat -o trace9 \
        "$DMBP" explain "$VGG" set9 -O o9 --method saliency --targets t9.txt --quiet
    opens=$(grep -c 't9.txt' trace9)
    # Parsed once, and hashed once for the set's fingerprint.
    [ "$opens" -le 2 ] || fail "9: --targets opened $opens times for 4 images"
fi

# ---- 10. eval is an image set too (issue #22): -O DIR, --resume ------------
# Each image is an item of the one runner: its numbers are its manifest
# record, the set's fingerprint comes first, --resume reads the done ones
# back and computes only the rest; the report is the uninterrupted run's.
ls "$S"/*.png | sort | head -n 4 >ev.list
EV="eval $VGG --images ev.list --methods gxi,dmbp --iters 2 --randomization-images 2 --batch 2"
# shellcheck disable=SC2086 # $EV is several words
expect_exit 0 "10: eval -O" -- "$DMBP" $EV -O e10 --csv e10.csv --quiet
head -n 1 e10/manifest.jsonl | grep -q '"command": "eval".*"--methods": "gxi,dmbp"' ||
    fail "10: no eval fingerprint: $(head -n 1 e10/manifest.jsonl)"
[ "$(grep -c '"status": "ok".*"eval": \[\[' e10/manifest.jsonl)" -eq 4 ] ||
    fail "10: want 4 ok records with numbers: $(cut -c1-120 e10/manifest.jsonl)"
cp e10/manifest.jsonl m10
cp "$TMP/out" table10
# Killed after two images: the other two are computed, the two read back.
grep -v -e '"input": "[^"]*dress.png", "status": "ok"' -e '"input": "[^"]*coat.png", "status": "ok"' \
    m10 >e10/manifest.jsonl
# shellcheck disable=SC2086
expect_exit 0 "10: eval --resume" -- "$DMBP" $EV -O e10 --csv e10b.csv --resume
grep -q "2 images already done" "$TMP/err" && grep -q "^dmbp: 2 images to compute" "$TMP/err" ||
    fail "10: eval --resume: $(cat "$TMP/err")"
cmp -s e10.csv e10b.csv || fail "10: eval --resume: the CSV differs from the whole run's"
# The table too, but for the seconds per image (the last column).
sed 's/  *[0-9.]*$//' table10 >t10a
sed 's/  *[0-9.]*$//' "$TMP/out" >t10b
cmp -s t10a t10b || fail "10: eval --resume: the table differs: $(diff t10a t10b)"
# Everything done: nothing computed, the same report.
# shellcheck disable=SC2086
expect_exit 0 "10: eval --resume, all done" -- "$DMBP" $EV -O e10 --csv e10c.csv --resume
grep -q "4 images already done, 0 images to compute" "$TMP/err" || fail "10: all done: $(cat "$TMP/err")"
cmp -s e10.csv e10c.csv || fail "10: all done: the CSV differs"
# Another set: refused, naming what differs; --force starts anew.
# shellcheck disable=SC2086
refused 2 "--iters was '2', now '3'" "10: eval --resume with other --iters" -- \
    "$DMBP" eval "$VGG" --images ev.list --methods gxi,dmbp --iters 3 --randomization-images 2 \
    --batch 2 -O e10 --resume
# A record that says ok without all its numbers proves nothing: that image
# is computed again (the others are read back), the same CSV.
{ head -n 1 m10; grep '"status": "ok"' m10 | sed '1s/"eval": \[\[[0-9]*, /"eval": [[/'; } \
    >e10/manifest.jsonl
# shellcheck disable=SC2086
expect_exit 0 "10: eval record without its numbers" -- "$DMBP" $EV -O e10 --csv e10d.csv --resume
grep -q "ignoring 1 record whose results do not read back" "$TMP/err" && grep -q "3 images already done" "$TMP/err" ||
    fail "10: eval record without its numbers: $(cat "$TMP/err")"
cmp -s e10.csv e10d.csv || fail "10: eval record without its numbers: the CSV differs"
# Inputs are never overwritten: not by the manifest, not by a report.
mkdir e11
ln -s "$VGG" e11/manifest.jsonl
# shellcheck disable=SC2086
refused 3 "symbolic link" "10: eval manifest linked to the model" -- "$DMBP" $EV -O e11
cp "$S/bag.png" ebag.png
echo ebag.png >ev1.list
refused 2 "refusing to overwrite the input" "10: eval --csv onto an image" -- \
    "$DMBP" eval "$VGG" --images ev1.list --methods gxi --randomization-images 0 --csv ebag.png
cmp -s ebag.png "$S/bag.png" || fail "10: eval --csv overwrote its input"
refused 2 "need --output-dir" "10: eval --resume without -O" -- \
    "$DMBP" eval "$VGG" --images ev1.list --methods gxi --resume

finish
