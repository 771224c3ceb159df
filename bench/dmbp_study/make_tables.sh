#!/bin/bash
# Print every table of RESULTS.md from the JSON lines in $R (default /tmp/s23/res).
R=${R:-/tmp/s23/res}
cd "$(dirname "$0")"
PY=/usr/bin/python3
# per model: SmoothGrad's sigma chosen on val (mean of + and - mass) and the
# sigma best on val for the - mass alone (both are paired with everything)
declare -A SGV=([evidence_cnn]=0.05 [evidence_vgg]=0.05 [evidence_resnet]=0.1)
declare -A SGN=([evidence_cnn]=0.25 [evidence_vgg]=0.15 [evidence_resnet]=0.25)
for M in evidence_cnn evidence_vgg evidence_resnet; do
  SG="sgx32s${SGV[$M]},sgx32s${SGN[$M]}"
  CHEAP=gxi,ig32,$SG,path-K16-i0-sign,path-K8-i0-sign
  EXP=ig32,$SG,classic,path-K16-i0-sign,path-K8-i0-sign,path-K8-i100-sign
  REF=ig32,$SG
  echo "### $M: validation (SmoothGrad's sigma, one-shot K)"; echo
  if [ $M = evidence_cnn ]; then F=$R/val_cnn_cheap.jsonl; VM=gxi,ig32,sgx32s0.03,sgx32s0.05,sgx32s0.1,sgx32s0.15,sgx32s0.25,path-K4-i0-sign,path-K8-i0-sign,path-K16-i0-sign,path-K32-i0-sign,path-K8-i0-sign-th4,path-K8-i0-sign-th20,path-K16-i0-sign-th20
  else F=$R/val_$M.jsonl; VM=gxi,ig32,sgx32s0.03,sgx32s0.05,sgx32s0.1,sgx32s0.15,sgx32s0.25,path-K8-i0-sign,path-K16-i0-sign; fi
  $PY summarize.py $F --methods $VM; echo
  echo "### $M: test, cheap methods"; echo
  $PY summarize.py $R/test_$M.jsonl --methods $CHEAP --ref $REF
  echo
  echo "### $M: test, the iterated variants (the images they reached)"; echo
  $PY summarize.py $R/test_$M.jsonl $R/test_${M}_exp*.jsonl --methods $EXP --ref $REF,classic
  echo
done
echo "### evidence_cnn: test, cost-200 variants (the images they reached)"; echo
$PY summarize.py $R/test_evidence_cnn*.jsonl --methods ig32,sgx32s0.05,path-K8-i0-sign,path-K8-i25-sign,path-K4-i50-sign,path-K2-i100-sign,path-K8-i100-sign --ref ig32,sgx32s0.05
echo
echo "### evidence_cnn: validation, iterated variants (cost <= 200 copy-iterations)"; echo
$PY summarize.py $R/val_cnn_c200.jsonl $R/val_cnn_cheap.jsonl --methods ig32,sgx32s0.05,path-K8-i0-sign,path-K8-i25-sign,path-K4-i50-sign,path-K8-i25-sign-lr0.2,path-K4-i50-sign-lr0.2,path-K2-i100-sign --ref ig32
echo
echo "### evidence_cnn: validation, start rules and the first grid (8 images)"; echo
$PY summarize.py $R/val_cnn.jsonl --methods ig32,sgx32s0.05,sgx32s0.15,classic,path-K16-i0-sign,path-K8-i0-sign,path-K8-i0-composed,path-K8-i100-sign,path-K8-i25-sign,path-K8-i25-composed,path-K8-i25-top,path-K4-i50-sign,path-K8-i25-sign-lr0.1,path-K4-i50-sign-lr0.1
echo
echo "### evidence_cnn: test, hard one-shot masks"; echo
$PY summarize.py $R/test_evidence_cnn.jsonl $R/test_evidence_cnn_hard.jsonl --methods ig32,path-K8-i0-sign,path-K8-i0-sign-th4,path-K8-i0-sign-th20,path-K16-i0-sign-th20
echo
for m in vgg resnet; do
  echo "### Fashion-MNIST $m"; echo
  $PY summarize_fmnist.py $R/fm_$m.jsonl $R/fm_${m}_lib.jsonl --methods classic-lib,path-K16-i0-sign,path-K8-i0-sign,gxi,ig32,sgx32s0.15 --ref classic-lib
  echo; echo "#### Fashion-MNIST $m, path-K8-i100-sign (the images it reached)"; echo
  $PY summarize_fmnist.py $R/fm_$m.jsonl $R/fm_${m}_lib.jsonl --methods classic-lib,path-K8-i0-sign,path-K8-i100-sign,sgx32s0.15 --ref classic-lib
  echo
done
