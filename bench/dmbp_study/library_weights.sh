#!/bin/sh
# Do the loss weights that won `make eval-report`'s sweep on evidence_cnn's
# validation split (w_evidence 1, w_nuisance 3, w_sign 1; docs/results.md,
# "Sweep of DMBP's settings") carry over to the two cross-entropy models,
# and what do they cost on Fashion-MNIST? dmbp eval of the default and
# each setting on the first 100 validation images of evidence_vgg and
# evidence_resnet, then of the default and the one that helps on both on
# Fashion-MNIST test images 5000..5099 (not among the first 500 that make
# eval-report reports). Single-threaded; writes library/weights/NAME.csv;
# lib_pairs_weights.py prints the paired differences.
# Usage (from the repository, after the build):
#   /usr/bin/python3 models/make_evidence.py --split val --n 100 --out VALDIR
#   bench/dmbp_study/library_weights.sh VALDIR
set -eu
VAL=$1
OUT=bench/dmbp_study/library/weights
IDX=idx:/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
mkdir -p "$OUT"
run() { # MODEL NAME IMAGES OPTIONS...
    m=$1 name=$2 images=$3
    shift 3
    [ -s "$OUT/$m-$name.csv" ] && return 0
    OMP_NUM_THREADS=1 ./dmbp eval "models/$m.onnx" --images "$images" "$@" --n 100 \
        --methods dmbp --threads 1 --randomization-images 0 \
        --csv "$OUT/$m-$name.csv" >/dev/null
}
for m in evidence_vgg evidence_resnet; do
    run "$m" default "$VAL" --ground-truth
    run "$m" evidence1 "$VAL" --ground-truth --w-evidence 1
    run "$m" nuisance3 "$VAL" --ground-truth --w-nuisance 3
    run "$m" sign1 "$VAL" --ground-truth --w-sign 1
    run "$m" ev1nu3 "$VAL" --ground-truth --w-evidence 1 --w-nuisance 3
done
for m in fmnist_resnet fmnist_vgg; do
    run "$m" default "$IDX" --offset 5000
    run "$m" evidence1 "$IDX" --offset 5000 --w-evidence 1
done
for m in evidence_vgg evidence_resnet; do
    /usr/bin/python3 bench/dmbp_study/lib_pairs_weights.py "$OUT/$m" pos_mass_accuracy,neg_mass_accuracy
done
for m in fmnist_resnet fmnist_vgg; do
    /usr/bin/python3 bench/dmbp_study/lib_pairs_weights.py "$OUT/$m" deletion_auc,insertion_auc,neg_rise_10
done
