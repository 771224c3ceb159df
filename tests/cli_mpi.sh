#!/bin/sh
# Image sets on MPI ranks (docs/cluster.md): results bitwise equal to one
# process, --resume, a killed worker, a bad image, a torn manifest line.
# Skipped (status 77) without mpirun or without an MPI build.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

if [ "${DMBP_HAVE_MPI:-no}" != yes ]; then
    echo "cli_mpi.sh: skipped: dmbp was built without MPI (configure found no Open MPI)"
    exit 77
fi
if ! command -v mpirun >/dev/null 2>&1; then
    echo "cli_mpi.sh: skipped: no mpirun (apt-get install openmpi-bin)"
    exit 77
fi

VGG="$MODELS/fmnist_vgg.onnx"
SAMPLES="$MODELS/samples"
# Every rank and the single process on one thread: the same arithmetic.
export OMP_NUM_THREADS=1
# Tests run as root in CI containers; several ranks on two cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Under make check-asan (ASAN_OPTIONS set): Open MPI's own allocations
# that it never frees are suppressed, by library (tests/lsan-mpi.supp,
# which says why the other two settings are needed).
if [ -n "${ASAN_OPTIONS:-}" ]; then
    export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
    export LSAN_OPTIONS="suppressions=$top_srcdir/tests/lsan-mpi.supp"
    export OMPI_MCA_mca_base_component_disable_dlclose=1
fi
# A wedged run fails the test instead of hanging make check.
LIMIT=300
mpi() {
    np=$1; shift
    # Local ranks inherit this environment (DMBP_TEST_DIE_AFTER too).
    timeout "$LIMIT" mpirun --oversubscribe -np "$np" "$DMBP" "$@"
}

# same_files A B DESCRIPTION: every .npy and .png of A is in B, byte for
# byte, and B has no others.
same_files() {
    na=$(ls "$1" | grep -c '\.\(npy\|png\)$')
    nb=$(ls "$2" | grep -c '\.\(npy\|png\)$')
    [ "$na" -gt 0 ] && [ "$na" = "$nb" ] || fail "$3: $na files vs $nb"
    for f in "$1"/*.npy "$1"/*.png; do
        cmp -s "$f" "$2/$(basename "$f")" || fail "$3: $(basename "$f") differs"
    done
}

# manifest_ok DIR N: the set's fingerprint first, then complete lines:
# "claimed" ones (the outputs an image is about to write) and N results,
# each an object with its input, a status, its rank and seconds, and (ok
# lines) outputs that exist.
manifest_ok() {
    m="$1/manifest.jsonl"
    [ -f "$m" ] || { fail "$m missing"; return; }
    head -n 1 "$m" | grep -q '^{"set": {"dmbp": ' || fail "$m: no fingerprint first"
    results=$(grep -c '"status": "\(ok\|failed\)"' "$m")
    [ "$results" -eq "$2" ] || fail "$m: $results results, want $2"
    [ "$(tail -c 1 "$m" | od -An -c | tr -d ' ')" = '\n' ] || fail "$m: last line incomplete"
    bad=$(sed 1d "$m" | grep -v '^{"input": ".*", "status": "claimed", "outputs": {.*}}$' |
        grep -vc '^{"input": ".*", "status": "\(ok\|failed\)", .*"rank": [0-9]*, "seconds": [0-9.]*}$')
    [ "$bad" -eq 0 ] || fail "$m: $bad malformed lines"
    for p in $(grep '"status": "ok"' "$m" | grep -o '"\(png\|npy\|pos\|neg\|mappings\|json\|masks\)": "[^"]*"' | sed 's/.*: "//; s/"$//'); do
        [ -f "$p" ] || fail "$m: output $p missing"
    done
}

# ---- gxi: one process, then 2 and 3 ranks ------------------------------
expect_exit 0 "gxi alone" -- "$DMBP" explain "$VGG" "$SAMPLES"/*.png \
    --method gxi -O "$TMP/one" --quiet
manifest_ok "$TMP/one" 10
for np in 2 3; do
    expect_exit 0 "gxi on $np ranks" -- mpi $np explain "$VGG" \
        "$SAMPLES"/*.png --method gxi -O "$TMP/gxi$np"
    manifest_ok "$TMP/gxi$np" 10
    same_files "$TMP/one" "$TMP/gxi$np" "gxi on $np ranks"
    [ "$(wc -l <"$TMP/out")" -eq 10 ] || fail "gxi on $np ranks: $(wc -l <"$TMP/out") stdout lines"
    grep -q "10/10 images" "$TMP/err" || fail "gxi on $np ranks: no final progress line"
done

# ---- a short DMBP -------------------------------------------------------
set -- "$SAMPLES/bag.png" "$SAMPLES/coat.png" "$SAMPLES/sandal.png" \
    "$SAMPLES/trouser.png"
expect_exit 0 "dmbp alone" -- "$DMBP" explain "$VGG" "$@" --iters 5 \
    -O "$TMP/dm1" --quiet
expect_exit 0 "dmbp on 3 ranks" -- mpi 3 explain "$VGG" "$@" --iters 5 \
    -O "$TMP/dm3" --quiet
manifest_ok "$TMP/dm3" 4
same_files "$TMP/dm1" "$TMP/dm3" "dmbp on 3 ranks"
[ "$(ls "$TMP/dm3" | grep -c 'mappings.png$')" -eq 4 ] || fail "dmbp on 3 ranks: mappings missing"

# ---- --resume after a finished run computes nothing -------------------
cp "$TMP/gxi2/manifest.jsonl" "$TMP/before"
expect_exit 0 "resume finished" -- mpi 2 explain "$VGG" "$SAMPLES"/*.png \
    --method gxi -O "$TMP/gxi2" --resume
grep -q "0 images to compute" "$TMP/err" || fail "resume finished: $(cat "$TMP/err")"
[ -s "$TMP/out" ] && fail "resume finished: printed results"
cmp -s "$TMP/before" "$TMP/gxi2/manifest.jsonl" || fail "resume finished: manifest changed"

# Another method's set in the same directory: --resume refuses it, saying
# what differs; --force computes this set anew.
expect_exit 2 "resume, other method" -- "$DMBP" explain "$VGG" \
    "$SAMPLES/bag.png" --method saliency -O "$TMP/gxi2" --resume --quiet
grep -q "another set: --method was 'gxi', now 'saliency'" "$TMP/err" ||
    fail "resume, other method: $(cat "$TMP/err")"
expect_exit 0 "resume, other method, --force" -- "$DMBP" explain "$VGG" \
    "$SAMPLES/bag.png" --method saliency -O "$TMP/gxi2" --resume --force --quiet
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "resume, other method: skipped saliency for gxi's line"

# ---- a worker killed after its first image -----------------------------
DMBP_TEST_DIE_AFTER=1
export DMBP_TEST_DIE_AFTER
expect_exit 8 "worker killed" -- mpi 3 explain "$VGG" "$SAMPLES"/*.png \
    --method gxi -O "$TMP/kill"
unset DMBP_TEST_DIE_AFTER
grep -q "lost (its worker was killed by signal 9" "$TMP/err" || fail "worker killed: no lost image reported: $(cat "$TMP/err")"
lost=$(grep -c ": lost (" "$TMP/err")
[ "$lost" -eq 1 ] || fail "worker killed: $lost images lost, want 1"
manifest_ok "$TMP/kill" 9
grep -q '"rank": 1,' "$TMP/kill/manifest.jsonl" || fail "worker killed: rank 1 finished nothing before dying"
missing=$(sed -n 's/^dmbp: \(.*\): lost (.*/\1/p' "$TMP/err")
expect_exit 0 "resume killed" -- mpi 2 explain "$VGG" "$SAMPLES"/*.png \
    --method gxi -O "$TMP/kill" --resume
grep -q "1 image to compute" "$TMP/err" || fail "resume killed: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] && grep -qF "$missing:" "$TMP/out" || fail "resume killed: computed $(cat "$TMP/out"), want $missing"
manifest_ok "$TMP/kill" 10
same_files "$TMP/one" "$TMP/kill" "resumed after a kill"

# ---- a bad image among good ones ----------------------------------------
printf 'not a PNG\n' >"$TMP/broken.png"
printf '%s\n' "$SAMPLES/bag.png" "$TMP/broken.png" "$SAMPLES/coat.png" \
    "$SAMPLES/dress.png" >"$TMP/list"
expect_exit 8 "bad image" -- mpi 2 explain "$VGG" --images "$TMP/list" \
    --method gxi -O "$TMP/bad"
manifest_ok "$TMP/bad" 4
[ "$(grep -c '"status": "ok"' "$TMP/bad/manifest.jsonl")" -eq 3 ] || fail "bad image: not 3 done"
grep -q '"input": ".*broken.png", "status": "failed", "exit_status": 4, "error": ".*broken.png' \
    "$TMP/bad/manifest.jsonl" || fail "bad image: no failed line: $(cat "$TMP/bad/manifest.jsonl")"
[ -e "$TMP/bad/broken-gxi.png" ] && fail "bad image: left an output"

# --max-failures 1: the first failure stops the hand-out (one process:
# deterministic order).
printf '%s\n' "$TMP/broken.png" "$SAMPLES/bag.png" "$SAMPLES/coat.png" >"$TMP/list2"
expect_exit 8 "max failures" -- "$DMBP" explain "$VGG" --images "$TMP/list2" \
    --method gxi -O "$TMP/maxf" --max-failures 1
manifest_ok "$TMP/maxf" 1
grep -q "2 not started (--max-failures)" "$TMP/err" || fail "max failures: $(cat "$TMP/err")"

# ---- eval: the same numbers from 3 ranks ---------------------------------
# --batch 3: four batches to share out; the timing columns alone differ.
ev="eval $VGG --images $SAMPLES --methods gxi,dmbp --iters 5 --batch 3 --randomization-images 3 --quiet"
expect_exit 0 "eval alone" -- "$DMBP" $ev --csv "$TMP/e1.csv" \
    --json-out "$TMP/e1.json" --plot "$TMP/e1.svg" --markdown "$TMP/e1.md"
mv "$TMP/out" "$TMP/e1.txt"
expect_exit 0 "eval on 3 ranks" -- mpi 3 $ev --csv "$TMP/e3.csv" \
    --json-out "$TMP/e3.json" --plot "$TMP/e3.svg" --markdown "$TMP/e3.md"
mv "$TMP/out" "$TMP/e3.txt"
cmp -s "$TMP/e1.csv" "$TMP/e3.csv" || fail "eval: CSV differs"
cmp -s "$TMP/e1.svg" "$TMP/e3.svg" || fail "eval: SVG differs"
untimed() { sed 's/"date": "[^"]*"//; s/"seconds": {[^}]*}//; s/"seconds": [0-9.e+-]*//; s/Run time [0-9]* s//; s/[0-9.]* |$//; s/ *[0-9.]*$//' "$1"; }
for k in txt json md; do
    [ "$(untimed "$TMP/e1.$k")" = "$(untimed "$TMP/e3.$k")" ] || fail "eval: $k differs beyond timings"
done
[ "$(wc -l <"$TMP/e3.txt")" -gt 3 ] || fail "eval on 3 ranks: no table"
# With -O: the ranks' records in one manifest; a set cut to its
# first window (--batch 3) is resumed on 2 ranks into the same CSV.
expect_exit 0 "eval -O on 3 ranks" -- mpi 3 $ev -O "$TMP/eo" --csv "$TMP/eo.csv"
cmp -s "$TMP/e1.csv" "$TMP/eo.csv" || fail "eval -O on 3 ranks: CSV differs"
[ "$(grep -c '"status": "ok"' "$TMP/eo/manifest.jsonl")" -eq "$(ls "$SAMPLES"/*.png | wc -l)" ] ||
    fail "eval -O on 3 ranks: manifest $(cut -c1-100 "$TMP/eo/manifest.jsonl")"
{ head -n 1 "$TMP/eo/manifest.jsonl"; grep '"status": "ok"' "$TMP/eo/manifest.jsonl" | sort | head -n 3; } >"$TMP/eo.m"
cp "$TMP/eo.m" "$TMP/eo/manifest.jsonl"
expect_exit 0 "eval --resume on 2 ranks" -- mpi 2 $ev -O "$TMP/eo" --csv "$TMP/eo2.csv" --resume
cmp -s "$TMP/e1.csv" "$TMP/eo2.csv" || fail "eval --resume on 2 ranks: CSV differs"

# ---- predict and masks: the same files from 2 and 3 ranks ---------------
# same_json A B DESCRIPTION: every per-image .json of A is in B, byte for
# byte, and B has no others (the manifests differ: ranks, seconds).
same_json() {
    na=$(ls "$1" | grep -c -- '-\(predict\|masks\)\.json$')
    nb=$(ls "$2" | grep -c -- '-\(predict\|masks\)\.json$')
    [ "$na" -gt 0 ] && [ "$na" = "$nb" ] || fail "$3: $na files vs $nb"
    for f in "$1"/*-predict.json "$1"/*-masks.json; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$2/$(basename "$f")" || fail "$3: $(basename "$f") differs"
    done
}
expect_exit 0 "predict alone" -- "$DMBP" predict "$VGG" "$SAMPLES" --top 3 \
    -O "$TMP/pr1" --quiet
manifest_ok "$TMP/pr1" 10
sort "$TMP/out" >"$TMP/pr1.out"
# The file holds what predict --json prints for the image.
"$DMBP" predict "$VGG" "$SAMPLES/bag.png" --top 3 --json >"$TMP/bag.json" ||
    fail "predict --json failed"
cmp -s "$TMP/bag.json" "$TMP/pr1/bag-predict.json" || fail "predict -O: bag-predict.json is not predict --json's line"
for np in 2 3; do
    expect_exit 0 "predict on $np ranks" -- mpi $np predict "$VGG" \
        "$SAMPLES" --top 3 -O "$TMP/pr$np" --quiet
    manifest_ok "$TMP/pr$np" 10
    same_json "$TMP/pr1" "$TMP/pr$np" "predict on $np ranks"
    sort "$TMP/out" | cmp -s - "$TMP/pr1.out" || fail "predict on $np ranks: stdout differs from one process's"
done
cp "$TMP/pr3/manifest.jsonl" "$TMP/before"
expect_exit 0 "predict resume finished" -- mpi 2 predict "$VGG" "$SAMPLES" \
    --top 3 -O "$TMP/pr3" --resume
grep -q "0 images to compute" "$TMP/err" || fail "predict resume finished: $(cat "$TMP/err")"
[ -s "$TMP/out" ] && fail "predict resume finished: printed results"
cmp -s "$TMP/before" "$TMP/pr3/manifest.jsonl" || fail "predict resume finished: manifest changed"

set -- "$SAMPLES/bag.png" "$SAMPLES/coat.png" "$SAMPLES/sandal.png" \
    "$SAMPLES/trouser.png"
expect_exit 0 "masks alone" -- "$DMBP" masks "$VGG" "$@" --iters 3 \
    -O "$TMP/ma1" --quiet
manifest_ok "$TMP/ma1" 4
expect_exit 0 "masks of one image" -- "$DMBP" masks "$VGG" "$SAMPLES/coat.png" \
    --iters 3 -o "$TMP/coat-masks.json"
cmp -s "$TMP/coat-masks.json" "$TMP/ma1/coat-masks.json" || fail "masks -O: coat-masks.json differs from the one-image run's"
for np in 2 3; do
    expect_exit 0 "masks on $np ranks" -- mpi $np masks "$VGG" "$@" \
        --iters 3 -O "$TMP/ma$np" --quiet
    manifest_ok "$TMP/ma$np" 4
    same_json "$TMP/ma1" "$TMP/ma$np" "masks on $np ranks"
done
# An output deleted (and its line dropped): --resume computes that image
# alone, to the same bytes.
grep -v 'sandal' "$TMP/ma3/manifest.jsonl" >"$TMP/three"
cp "$TMP/three" "$TMP/ma3/manifest.jsonl"
rm "$TMP/ma3/sandal-masks.json"
expect_exit 0 "masks resume" -- mpi 2 masks "$VGG" "$@" --iters 3 \
    -O "$TMP/ma3" --resume
grep -q "1 image to compute" "$TMP/err" || fail "masks resume: $(cat "$TMP/err")"
grep -q "sandal" "$TMP/out" && [ "$(grep -c ' -> ' "$TMP/out")" -eq 1 ] || fail "masks resume: computed $(cat "$TMP/out")"
manifest_ok "$TMP/ma3" 4
same_json "$TMP/ma1" "$TMP/ma3" "masks resumed"

# ---- several ranks without -O: every rank would do the same work ---------
for cmd in "explain $VGG $SAMPLES/bag.png --method gxi -o $TMP/rep" \
    "predict $VGG $SAMPLES/bag.png" "masks $VGG $SAMPLES/bag.png --iters 1 -o $TMP/rep.json"; do
    expect_exit 2 "${cmd%% *} on 2 ranks without -O" -- mpi 2 $cmd
    [ "$(grep -c '^dmbp: ' "$TMP/err")" -eq 1 ] || fail "${cmd%% *} without -O: want one dmbp line (rank 0's): $(cat "$TMP/err")"
    grep -q "without -O DIR" "$TMP/err" || fail "${cmd%% *} without -O: $(cat "$TMP/err")"
    [ -s "$TMP/out" ] && fail "${cmd%% *} without -O: computed something"
done
[ -e "$TMP/rep.png" ] || [ -e "$TMP/rep.json" ] && fail "without -O: wrote outputs"
expect_exit 0 "predict on 1 rank without -O" -- mpi 1 predict "$VGG" "$SAMPLES/bag.png"
grep -q "Bag" "$TMP/out" || fail "predict on 1 rank: $(cat "$TMP/out")"

# ---- a manifest whose writer was killed mid-line -------------------------
cp -r "$TMP/one" "$TMP/torn"
sed -i 's#"'"$TMP"'/one/#"'"$TMP"'/torn/#g' "$TMP/torn/manifest.jsonl"
head -n "$(($(wc -l <"$TMP/torn/manifest.jsonl") - 1))" "$TMP/torn/manifest.jsonl" >"$TMP/nine"
{ cat "$TMP/nine"; tail -n 1 "$TMP/torn/manifest.jsonl" | head -c 40; } \
    >"$TMP/torn/manifest.jsonl"
expect_exit 0 "torn line" -- "$DMBP" explain "$VGG" "$SAMPLES"/*.png \
    --method gxi -O "$TMP/torn" --resume
grep -q "ignoring an incomplete last line" "$TMP/err" || fail "torn line: not reported: $(cat "$TMP/err")"
grep -q "1 image to compute" "$TMP/err" || fail "torn line: $(cat "$TMP/err")"
manifest_ok "$TMP/torn" 10

finish
