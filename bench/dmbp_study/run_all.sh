#!/bin/bash
# The exact commands of bench/dmbp_study/RESULTS.md (issue #23), from the
# repository root.  Every run appends JSON lines to $R and resumes where it
# stopped; the tables come from summarize.py / summarize_fmnist.py.
set -e
R=${R:-/tmp/s23/res}
mkdir -p "$R"
export OMP_NUM_THREADS=1
S=bench/dmbp_study
PY=/usr/bin/python3

# 0. the build, and classic DMBP in PyTorch against the C program
./dmbp explain models/evidence_cnn.onnx models/evidence/test_00004.png --method dmbp -o $R/t4 --quiet --threads 1 --force
./dmbp explain models/evidence_cnn.onnx models/evidence/test_00006.png --method dmbp -o $R/t6 --quiet --threads 1 --force
(cd $S && $PY verify_c.py ../../models/evidence_cnn.onnx $R/t4.npy ../../models/evidence/test_00004.png $R/t6.npy ../../models/evidence/test_00006.png)

# 1. the second and third ground-truth models (cross-entropy only)
$PY $S/train_plain.py --arch vgg --epochs 13
$PY $S/train_plain.py --arch resnet --epochs 8

# 2. validation (choices), evidence_cnn
$PY $S/study.py --model evidence_cnn --split val --n 40 --out $R/val_cnn_cheap.jsonl \
  --methods gxi,ig32,sgx32s0.03,sgx32s0.05,sgx32s0.1,sgx32s0.15,sgx32s0.25,path-K16-i0-sign,path-K8-i0-sign,path-K4-i0-sign,path-K32-i0-sign
$PY $S/study.py --model evidence_cnn --split val --n 12 --out $R/val_cnn_c200.jsonl \
  --methods path-K8-i25-sign,path-K4-i50-sign,path-K8-i25-sign-lr0.2,path-K4-i50-sign-lr0.2,path-K2-i100-sign
$PY $S/study.py --model evidence_cnn --split val --n 8 --out $R/val_cnn.jsonl \
  --methods gxi,ig32,sgx32s0.05,sgx32s0.1,sgx32s0.15,sgx32s0.25,sgx32s0.35,classic,path-K16-i0-sign,path-K8-i0-sign,path-K8-i0-composed,path-K8-i100-sign,path-K8-i25-sign,path-K4-i50-sign,path-K8-i25-sign-lr0.1,path-K4-i50-sign-lr0.1,path-K8-i25-composed,path-K8-i25-top

# 3. validation (SmoothGrad's sigma) and test, every model (the study was
#    stopped at the deadline: the "exp" runs reached 94 / 55 / 57 images)
$PY $S/study.py --model evidence_cnn --split test --n 150 --out $R/test_evidence_cnn.jsonl \
  --methods gxi,ig32,sgx32s0.05,sgx32s0.1,sgx32s0.15,sgx32s0.25,path-K16-i0-sign,path-K8-i0-sign
$PY $S/study.py --model evidence_cnn --split test --n 150 --out $R/test_evidence_cnn_hard.jsonl \
  --methods path-K8-i0-sign-th4,path-K8-i0-sign-th20,path-K16-i0-sign-th20
for p in 0 1; do   # first with all four, then (for time) K8-i100 and classic only
  $PY $S/study.py --model evidence_cnn --split test --n 150 --part $p/2 --out $R/test_evidence_cnn_exp$p.jsonl \
    --methods path-K8-i100-sign,classic,path-K8-i25-sign,path-K2-i100-sign,path-K4-i50-sign
done
for M in evidence_vgg evidence_resnet; do
  $PY $S/study.py --model $M --split val --n 20 --out $R/val_$M.jsonl \
    --methods gxi,ig32,sgx32s0.03,sgx32s0.05,sgx32s0.1,sgx32s0.15,sgx32s0.25,path-K8-i0-sign,path-K16-i0-sign
  $PY $S/study.py --model $M --split test --n 100 --out $R/test_$M.jsonl \
    --methods gxi,ig32,sgx32s0.05,sgx32s0.1,sgx32s0.15,sgx32s0.25,path-K16-i0-sign,path-K8-i0-sign
  for p in 0 1; do
    $PY $S/study.py --model $M --split test --n 100 --part $p/2 --out $R/test_${M}_exp$p.jsonl \
      --methods classic,path-K8-i100-sign
  done
done

# 4. Fashion-MNIST: deletion / insertion / negative evidence (classic from the library's CSV)
for m in vgg resnet; do
  $PY $S/fmnist.py --model models/fmnist_$m.onnx --n 100 --out $R/fm_$m.jsonl \
    --methods path-K16-i0-sign,path-K8-i0-sign,gxi,ig32,sgx32s0.15,path-K8-i100-sign
  $PY $S/lib_csv.py docs/results/evidence-fmnist-$m-default.csv models/fmnist_$m.onnx > $R/fm_${m}_lib.jsonl
done

# tables
R=$R $S/make_tables.sh
