#!/bin/sh
# Choosing a cheaper default on the validation split (issue #23, cost):
# dmbp eval of path DMBP at K copies x N iterations ("KxN") on the three
# ground-truth models' val images and on Fashion-MNIST test images
# 5000.. (not among the first 500 that make eval-report reports; the
# classic preset beside them), each run single-threaded under nice, two
# at a time. Writes library/val/NAME.csv; a CSV already there is kept.
# Usage (from the repository, after the build):
#   /usr/bin/python3 models/make_evidence.py --split val --n 150 --out VALDIR
#   bench/dmbp_study/library_val.sh VALDIR [NAME ...]
# NAME: evidence_{cnn,vgg,resnet}-KxN or fmnist_{vgg,resnet}-KxN|classic;
# the default list is what the study ran (the evidence_cnn and evidence_vgg
# 8x25 references with NV=150, before the rest: the machine was too busy
# for more).
set -eu
VAL=$1
shift
NV=${NV:-100}      # ground-truth val images (the 8x25 reference ran on 150: pairs use the shared ones)
NF=${NF:-100}      # Fashion-MNIST images from offset 5000
OUT=bench/dmbp_study/library/val
IDX=idx:/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ $# -gt 0 ] || set -- fmnist_resnet-classic fmnist_resnet-8x25 fmnist_resnet-4x40 \
    fmnist_resnet-8x20 evidence_resnet-4x40 evidence_resnet-8x20 evidence_resnet-8x25 \
    evidence_cnn-4x40 evidence_cnn-8x20 evidence_vgg-4x40 evidence_vgg-8x20
mkdir -p "$OUT"
run() { # NAME: one dmbp eval into $OUT/NAME.csv unless it exists
    name=$1 m=${1%-*} c=${1##*-}
    [ -s "$OUT/$name.csv" ] && return 0
    if [ "$c" = classic ]; then o="--preset classic"; else o="--path-steps ${c%x*} --iters ${c#*x}"; fi
    case $m in
    fmnist_*) in="--images $IDX --offset 5000 --n $NF" ;;
    *) in="--images $VAL --n $NV --ground-truth" ;;
    esac
    # shellcheck disable=SC2086 # options are words
    OMP_NUM_THREADS=1 nice -n 10 ./dmbp eval "models/$m.onnx" $in --methods dmbp $o \
        --threads 1 -q --randomization-images 0 --csv "$OUT/$name.csv.tmp" >/dev/null
    mv "$OUT/$name.csv.tmp" "$OUT/$name.csv"
}
pids=
for name in "$@"; do
    run "$name" &
    pids="$pids $!"
    if [ "$(echo $pids | wc -w)" -eq 2 ]; then
        for p in $pids; do wait "$p"; done
        pids=
    fi
done
for p in $pids; do wait "$p"; done
