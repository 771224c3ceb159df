#!/bin/bash
# RESULTS.md section 9 (ROUNDROBIN.md), fourth round: the round robin with
# the negative lane left at its contribution-sign start (-negfix).
set -e
R=${R:-/tmp/s23c}
export OMP_NUM_THREADS=1
S=bench/dmbp_study
PY=/usr/bin/python3
N=${N:-40}
V4=${V4:-"split-O8-K1-i180-rr-negfix"}
declare -A SG=([evidence_cnn]=0.05 [evidence_vgg]=0.05 [evidence_resnet]=0.1)
for M in evidence_cnn evidence_resnet evidence_vgg; do
  nice -n 10 $PY $S/study.py --model $M --split val --n $N \
    --out $R/split4_val_${M}.jsonl --methods ig32,sgx32s${SG[$M]},$V4
done
