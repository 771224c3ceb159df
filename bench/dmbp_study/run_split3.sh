#!/bin/bash
# RESULTS.md section 9, third round: the round robin's lr and refresh size.
set -e
R=${R:-/tmp/s23c}
export OMP_NUM_THREADS=1
S=bench/dmbp_study
PY=/usr/bin/python3
N=${N:-40}
V3=${V3:-"split-O8-K2-i90-rr-lr0.02,split-O8-K1-i180-rr"}
declare -A SG=([evidence_cnn]=0.05 [evidence_vgg]=0.05 [evidence_resnet]=0.1)
for M in evidence_vgg evidence_cnn evidence_resnet; do
  nice -n 10 $PY $S/study.py --model $M --split val --n $N \
    --out $R/split3_val_${M}.jsonl --methods ig32,sgx32s${SG[$M]},$V3
done
