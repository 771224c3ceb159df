#!/bin/sh
# tools/clicompare/cases.sh BIN OUTDIR: about 100 command lines of the dmbp
# program BIN (an absolute path; a libtool wrapper or a script that runs an
# older build works) in a scratch directory OUTDIR/w: predict, explain,
# masks, eval, render, report and info on the shipped models, folders,
# --images lists, -O sets, --resume after an interrupted run, bad inputs,
# two MPI ranks when mpirun is there. Each case's command, stdout, stderr
# and exit status are kept as OUTDIR/cNN.*; compare two OUTDIRs with
# compare.sh. Used for #22 to check that moving the program's work into
# the library lost nothing (run the old binary and the new one, then
# compare.sh old new).
BIN=$1; OUT=$2
echo "$BIN" > "$OUT.bin" 2>/dev/null || true
SRC=$(cd "$(dirname "$0")/../.." && pwd)
M=$SRC/models; S=$M/samples; VGG=$M/fmnist_vgg.onnx; CNN=$M/evidence_cnn.onnx
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$OUT"; mkdir -p "$OUT/w"; cd "$OUT/w" || exit 1
cp "$S/bag.png" a.png; cp "$S/coat.png" b.png; cp "$S/bag.png" c.png
mkdir imgs; cp "$S"/*.png imgs/ 2>/dev/null
printf '%s\n' a.png b.png > list.txt
printf 'not a png\n' > bad.png
n=0
run() { n=$((n+1)); c=$(printf 'c%02d' $n); echo "$*" > "../$c.cmd"
  "$@" > "../$c.out" 2> "../$c.err"; echo $? > "../$c.rc"; }
run $BIN predict $VGG a.png b.png
run $BIN predict $VGG a.png --json --top 3
run $BIN predict $VGG imgs -O p1
run $BIN predict $VGG --images list.txt -O p2 --json
run $BIN predict $VGG a.png bad.png -O p3
run $BIN explain $VGG a.png --method saliency -o x1
run $BIN explain $VGG a.png b.png --method gxi -O x2
run $BIN explain $VGG imgs --method saliency -O x3 --json
run $BIN explain $VGG --images list.txt --method ig --steps 4 -O x4
run $BIN explain $VGG a.png bad.png --method saliency -O x5
run $BIN explain $VGG a.png bad.png --method saliency -O x5 --resume
run $BIN explain $VGG a.png bad.png --method saliency -O x5 --resume --method gxi
run $BIN explain $VGG a.png bad.png --method gxi -O x5 --resume --force
run $BIN explain $VGG a.png b.png --method saliency --shared-scale -o x6/
run $BIN explain $VGG a.png --method dmbp --iters 3 -O x7 --html
run $BIN explain $VGG a.png --method saliency -O x8
run $BIN explain $VGG a.png --method saliency -O x8
run $BIN explain $VGG a.png --method saliency -O x8 --resume
mkdir x9; echo junk > x9/manifest.jsonl
run $BIN explain $VGG a.png --method saliency -O x9 --resume
mkdir x10; ln -s ../a.png x10/manifest.jsonl
run $BIN explain $VGG a.png --method saliency -O x10
run $BIN explain $VGG a.png --method saliency -O . 
run $BIN masks $VGG a.png --iters 3 -o m1.json
run $BIN masks $VGG a.png b.png --iters 3 -O m2
run $BIN eval $CNN --images $M/evidence --methods saliency,gxi --n 4 --csv e1.csv
run $BIN eval $CNN --images $M/evidence --methods saliency --n 4 -O e2 --json-out e2.json
# an interrupted eval set: cut its manifest to the fingerprint and 2 records
head -n -2 e2/manifest.jsonl > e2m && cp e2m e2/manifest.jsonl
run $BIN eval $CNN --images $M/evidence --methods saliency --n 4 -O e2 --resume --json-out e2b.json
# an interrupted explain set: the last record torn
run $BIN explain $VGG imgs --method saliency -O x11 --quiet
head -c -20 x11/manifest.jsonl > x11m && cp x11m x11/manifest.jsonl
run $BIN explain $VGG imgs --method saliency -O x11 --resume
run $BIN explain $VGG nosuch.png --method saliency
run $BIN explain $VGG a.png --method nosuch
run $BIN explain $VGG a.png --method saliency -O x12 --max-failures 0 --chunk 0
run $BIN predict $M/README.md a.png
run $BIN explain $VGG a.png a.png --method saliency -O x13
run $BIN explain $VGG a.png bad.png c.png --method saliency -O x14 --max-failures 1
if command -v mpirun >/dev/null; then
run mpirun --allow-run-as-root --oversubscribe -np 2 $BIN explain $VGG imgs --method saliency -O mp1 --quiet
run mpirun --allow-run-as-root --oversubscribe -np 2 $BIN predict $VGG imgs a.png bad.png -O mp2
run mpirun --allow-run-as-root --oversubscribe -np 2 $BIN explain $VGG imgs --method gxi -O x3 --resume --force --quiet
run mpirun --allow-run-as-root --oversubscribe -np 2 $BIN predict $VGG a.png
fi
run $BIN report x3
run $BIN info $VGG
run $BIN info $VGG --json
run $BIN info $CNN --layers
run $BIN info $CNN --layers --json
run $BIN info $M/README.md
mkdir r1 r1/sub; cp -r x7 r1/sub/a; cp -r x4 r1/b; cp e2/eval.md e2/eval.svg r1/ 2>/dev/null
run $BIN report r1
run $BIN report r1 --quiet
mkdir r2
run $BIN report r2
run $BIN report nosuchdir
run $BIN explain $CNN $M/evidence/test_00000.png $M/evidence/test_00001.png --method gradcam --target top:2 -O t1
printf '3\nlabel:plus\n' > tg.txt
run $BIN explain $CNN $M/evidence/test_00000.png $M/evidence/test_00001.png --method saliency --targets tg.txt
printf '3\nnope\n' > tg2.txt
run $BIN explain $CNN $M/evidence/test_00000.png $M/evidence/test_00001.png --method saliency --targets tg2.txt -o t3/
run $BIN explain $VGG a.png --method saliency --target label:Bag -o t4
run $BIN explain $VGG a.png --method saliency --target 99 -o t5
run $BIN masks $VGG a.png --iters 3 --json --top 2
run $BIN eval $CNN --images $M/evidence --methods saliency,gxi --n 3 --targets true --true-labels tg.txt --json
run $BIN predict $VGG - < b.png
run $BIN predict $VGG idx:nosuch
run $BIN render x7/a-dmbp.npy --image a.png --model $VGG -o rr1
run $BIN render x2/a-gxi.npy --method gxi --image a.png --model $VGG --caption --colormap seismic -o rr2 --json
run $BIN render bad.png --method gxi --image a.png --model $VGG -o rr3
head -c 200 x2/a-gxi.npy > trunc.npy
run $BIN render trunc.npy --method gxi --image a.png --model $VGG -o rr4
run $BIN render nosuch.npy --method gxi --image a.png --model $VGG -o rr5
run $BIN render x2/a-gxi.npy --image a.png --model $VGG -o rr6
run $BIN render x2/a-gxi.npy --method gxi --image a.png --model $VGG
run $BIN explain $VGG a.png $M/evidence/test_00000.png --method saliency -o sh1/
run $BIN explain $CNN $M/evidence/test_00000.png a.png --method saliency -o sh2/
run $BIN explain $CNN $M/evidence/test_00000.png $M/evidence/test_00001.png $M/evidence/test_00002.png --method gxi --target top:3 -o sh3/ --json
run $BIN render x7/a-dmbp.npy --image a.png --model $VGG -o rr7 --caption --target top:2
run $BIN masks $VGG a.png --iters 2 --target top:2 -o m5.json
run $BIN explain $VGG a.png --method saliency --target top:+2 -o tt1
run $BIN explain $VGG a.png --method saliency --target bag -o tt2
run $BIN explain $VGG a.png --method saliency --target Bagg -o tt3
run $BIN explain $VGG a.png --method saliency --target top:11 -o tt4
run $BIN explain $VGG a.png --method saliency --target label:3 -o tt5
run $BIN eval $CNN --images $M/evidence --methods saliency --n 2 --target top:2
printf 'plus\n3\n' > tl.txt
run $BIN eval $CNN --images $M/evidence --methods saliency --n 2 --targets true --true-labels tl.txt --json-out tl.json
printf 'auto\n3\n' > tl2.txt
run $BIN eval $CNN --images $M/evidence --methods saliency --n 2 --targets true --true-labels tl2.txt
mkdir pre pre2
run $BIN explain $VGG a.png b.png --method saliency -o pre/x.png
run $BIN explain $VGG imgs --method dmbp --iters 2 --masks mk.json -o pre2/p
run $BIN explain $VGG a.png --method dmbp --iters 2 --masks mk1.json -o pre3.png
run $BIN explain $VGG - --method saliency < b.png
run $BIN predict $VGG a.png imgs/bag.png -O p9
run $BIN predict $VGG a.png imgs/../a.png -O p10
run $BIN eval $CNN --images $M/evidence --methods saliency,,gxi --n 2
run $BIN eval $CNN --images $M/evidence --methods saliency,nope --n 2
run $BIN eval $CNN --images $M/evidence --methods gxi,saliency,gxi --n 2
run $BIN eval $CNN --images $M/evidence --methods gxi,saliency --against nope --n 2
run $BIN eval $CNN --images $M/evidence --methods gxi,saliency --against ig --n 2
run $BIN eval $CNN --images $M/evidence --methods gxi,saliency --against saliency --n 2
run $BIN explain $VGG a.png --method smoothgrad --samples 3 --sigma 0.2 --seed 5 --of grad -o op1 --json
run $BIN explain $VGG a.png --method occlusion --window 7 --stride 5 --baseline blur -o op2 --json
run $BIN explain $VGG a.png --method rise --samples 50 --grid 4 --keep 0.3 --seed 2 -o op3 --json
run $BIN explain $VGG a.png --method lrp --composite epsilon-gamma-box --epsilon 1e-5 --gamma 0.3 -o op4 --json
run $BIN explain $VGG a.png --method dmbp --preset classic --iters 3 --w-sign 2 --lr 0.1 --init-logit 1.5 --mask-init contribution --tol 0.001 --w-sparsity 0.02 -o op5 --json
run $BIN explain $VGG a.png --method dmbp --iters 2 --samples 2 --sigma 0.05 --max-lanes 4 -o op6 --json
run $BIN explain $VGG a.png --method ig --ig-rule trapezoid --steps 3 --baseline black -o op7 --json
run $BIN explain $VGG a.png --method saliency --abs -o op8 --json
run $BIN explain $VGG a.png --method gradcam --layer nosuch -o op9
run $BIN explain $VGG a.png --method dmbp --iters 2 --path-steps 3 --w-evidence 0.5 --w-nuisance 2 --w-completeness 5 -O op10
run $BIN eval $CNN --images $M/evidence --methods ig,smoothgrad --steps 3 --samples 2 --n 2 --json
echo "$n cases"
