#!/bin/bash
# RESULTS.md section 9: the decoupled-copies variants on val (issue #23's
# cost target), every ground-truth model, 40 images, two parts in parallel.
set -e
R=${R:-/tmp/s23c}
mkdir -p "$R"
export OMP_NUM_THREADS=1
S=bench/dmbp_study
PY=/usr/bin/python3
N=${N:-40}
V="path-K8-i0-sign,path-K4-i40-sign,path-K2-i100-sign,path-K2-i90-sign,split-O8-K2-i90-fixed,split-O8-K2-i90-fixed-a1out,split-O8-K2-i60-strat,split-O8-K2-i90-rr"
declare -A SG=([evidence_cnn]=0.05 [evidence_vgg]=0.05 [evidence_resnet]=0.1)
for M in evidence_cnn evidence_vgg evidence_resnet; do
  for p in 0 1; do
    nice -n 10 $PY $S/study.py --model $M --split val --n $N --part $p/2 \
      --out $R/split_val_${M}_$p.jsonl --methods ig32,sgx32s${SG[$M]},$V &
  done
  wait
done

# second round (what the first suggested): lr, one iteration copy, weights
V2=${V2:-"path-K2-i90-sign-lr0.1,path-K2-i90-sign-lr0.02,split-O8-K2-i90-fixed-lr0.1,split-O8-K1-i180-fixed,path-K2-i90-sign-ws1,path-K2-i90-sign-wn3,split-O4-K2-i90-fixed"}
for M in evidence_vgg evidence_cnn evidence_resnet; do
  for p in 0 1; do
    nice -n 10 $PY $S/study.py --model $M --split val --n $N --part $p/2 \
      --out $R/split2_val_${M}_$p.jsonl --methods ig32,sgx32s${SG[$M]},$V2 &
  done
  wait
done
