#!/bin/sh
# The test-split numbers of issue #23's Done-when with the library itself:
# dmbp eval of the default DMBP, IG, gradient x input and SmoothGrad x input
# (32 samples, at the sigma chosen on val by the mean of the two masses,
# and at the sigma best on val for the negative mass alone; RESULTS.md
# section 3) on the first NT generated test images of each ground-truth
# model, single-threaded under nice. Writes library/test/*.csv.
# Usage (from the repository, after the build):
#   /usr/bin/python3 models/make_evidence.py --split test --n 480 --out TESTDIR
#   bench/dmbp_study/library_test.sh TESTDIR baselines|dmbp|classic
set -eu
TEST=$1
WHAT=$2
NT=${NT:-480}
OUT=bench/dmbp_study/library/test
mkdir -p "$OUT"
run() { # NAME ARGS...
    name=$1; shift
    [ -s "$OUT/$name.csv" ] && return 0
    OMP_NUM_THREADS=1 nice -n 10 ./dmbp eval "$@" --images "$TEST" --n "$NT" \
        --ground-truth --threads 1 -q --randomization-images 0 \
        --csv "$OUT/$name.csv.tmp" >/dev/null
    mv "$OUT/$name.csv.tmp" "$OUT/$name.csv"
}
sg_val() { case $1 in evidence_resnet) echo 0.1 ;; *) echo 0.05 ;; esac; }
sg_neg() { case $1 in evidence_vgg) echo 0.15 ;; *) echo 0.25 ;; esac; }
for m in evidence_cnn evidence_vgg evidence_resnet; do
    case $WHAT in
    baselines)
        run "$m-ig-gxi" "models/$m.onnx" --methods ig,gxi
        # the - sigma only with SG_NEG=1 (the machine was too busy for it)
        for s in $(sg_val $m) $([ "${SG_NEG:-0}" = 1 ] && sg_neg $m); do
            run "$m-sg$s" "models/$m.onnx" --methods smoothgrad --samples 32 --sigma "$s"
        done ;;
    # the default; DMBP_OPTS: its settings spelled out (the same computation)
    # shellcheck disable=SC2086
    dmbp) run "$m-dmbp" "models/$m.onnx" --methods dmbp ${DMBP_OPTS:-} ;;
    classic) run "$m-classic" "models/$m.onnx" --methods dmbp --preset classic ;;
    esac
done
