#!/bin/bash
# RESULTS.md section 9: the round-robin preset on the TEST split with the
# program, as docs/results.sh runs the default (same images, 500 per model),
# and on Fashion-MNIST (500 images) as its classic rows; paired differences
# with rr_pairs.py. Usage: rr_test.sh OUTDIR [OPTIONS...] (default options:
# --preset path-rr).
set -e
O=${1:-/tmp/s23c/test}; shift || true
OPTS=${*:---preset path-rr}
export OMP_NUM_THREADS=1
PY=/usr/bin/python3
mkdir -p "$O"
[ -d "$O/images" ] || $PY models/make_evidence.py --split test --n 500 --out "$O/images" >/dev/null
for M in evidence_cnn evidence_vgg evidence_resnet; do
  [ -f "$O/$M.json" ] && continue
  s=$(date +%s)
  nice -n 10 ./dmbp eval models/$M.onnx --images "$O/images" --n 500 --ground-truth \
    --methods dmbp --randomization-images 0 $OPTS --csv "$O/$M.csv" --json-out "$O/$M.json" \
    > "$O/$M.txt" </dev/null
  echo $(($(date +%s) - s)) > "$O/$M.seconds"
done
for M in vgg resnet; do
  [ -f "$O/fmnist_$M.json" ] && continue
  s=$(date +%s)
  nice -n 10 ./dmbp eval models/fmnist_$M.onnx --images idx:/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
    --n 500 --methods dmbp $OPTS --randomization-images 0 --csv "$O/fmnist_$M.csv" --json-out "$O/fmnist_$M.json" \
    > "$O/fmnist_$M.txt" </dev/null
  echo $(($(date +%s) - s)) > "$O/fmnist_$M.seconds"
done
