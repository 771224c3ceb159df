#!/bin/sh
# make eval-report: dmbp eval on both shipped models over the first 500
# Fashion-MNIST test images (Debian's dataset-fashion-mnist), every method,
# then docs/results.md from what it wrote under docs/results/.
#
#   docs/results.sh DMBP SRCDIR          run both evaluations and the
#                                        ground-truth benchmark, then assemble
#   docs/results.sh --truth DMBP SRCDIR  only the ground-truth benchmark
#                                        (evidence model), then assemble
#   docs/results.sh --fmnist DMBP SRCDIR only the Fashion-MNIST part, then
#                                        assemble (with the last truth run)
#   docs/results.sh --assemble SRCDIR    only rebuild results.md from the
#                                        files of the last run
#
# When only one part was rerun, OUT/evidence-note.md (written by hand, kept
# in the repository) says so at the top of the ground-truth section; delete
# it when both parts are from one run.
#
# The two models run at the same time, one process per core with
# OMP_NUM_THREADS=1: on two cores that is faster than two threads each,
# which wait for each other (and on a busy machine much faster).
# EVAL_N (default 500) and EVAL_OUT (default SRCDIR/docs/results) are for
# trying it out on fewer images elsewhere; EVAL_GT_N (500), EVAL_GT_VAL_N
# (100) and EVAL_GT_SMOOTH_N (100: it costs 8 DMBP runs per image) are the
# ground-truth part's test, validation and smoothed-DMBP image counts;
# EVAL_SLOW_N (100) the images of the methods in SLOW_METHODS (RISE: 4000
# forward passes per image, 40 times the cost of any other method here);
# EVAL_GT_FMNIST_N (100) the Fashion-MNIST images on which the sweep's
# choice, if not the default, is compared with the default.
#
# The ground-truth part generates its images with models/make_evidence.py
# (seeded: the same images every time) into a temporary directory, runs
# every method on the test split, DMBP's other preset and its smoothed
# variant, and a sweep of DMBP's settings on the validation split whose
# best setting is then run once on the test split (docs/results_truth.py
# picks it and writes the section).
set -eu

usage() {
    echo "usage: $0 DMBP SRCDIR | --truth DMBP SRCDIR | --fmnist DMBP SRCDIR | --assemble SRCDIR" >&2
    exit 2
}
TRUTH_ONLY=0
FMNIST_ONLY=0
if [ $# -eq 3 ] && [ "$1" = --truth ]; then
    TRUTH_ONLY=1
    shift
elif [ $# -eq 3 ] && [ "$1" = --fmnist ]; then
    FMNIST_ONLY=1
    shift
fi
[ $# -eq 2 ] || usage
DMBP=$1
SRC=$2
cd "$SRC"
N=${EVAL_N:-500}
OUT=${EVAL_OUT:-docs/results}
MD=${EVAL_MD:-docs/results.md}
IDX=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
METHODS=dmbp,saliency,gxi,ig,smoothgrad,guided,gradcam,occlusion,gradcam++,scorecam
# Run on the first SLOW_N images only, each model's own table (see EVAL_SLOW_N).
SLOW_METHODS=rise
SLOW_N=${EVAL_SLOW_N:-100}
NUM_METHODS=$(echo "$METHODS,$SLOW_METHODS" | tr ',' '\n' | wc -l)
AGAINST=gxi
MODELS="vgg resnet"
PY=/usr/bin/python3
EV=models/evidence_cnn.onnx
GT_N=${EVAL_GT_N:-500}
GT_VAL_N=${EVAL_GT_VAL_N:-100}
GT_SMOOTH_N=${EVAL_GT_SMOOTH_N:-100}
GT_FMNIST_N=${EVAL_GT_FMNIST_N:-100}
# The ground-truth models: the one with a per-object head (EV, the sweep and
# DMBP's variants are run on it) and the two trained with cross-entropy only
# (models/train_evidence.py), whose run prefixes in OUT are their names.
GT_CE_MODELS="evidence_vgg evidence_resnet"
# Every method of the Fashion-MNIST part, and LRP (its default composite).
GT_METHODS=$METHODS,lrp
# SmoothGrad x input as the comparison of the issue that made path DMBP the
# default: 32 samples, the noise level that is best on the validation split
# of each model by the mean of the + and - mass (results_truth.py pick-sg).
SG_SIGMAS="0.05 0.1 0.15"
SG_SAMPLES=32
# The smoothed variant as in dmbp-method.md section 3 (the prototype's K, sigma).
SMOOTH="--samples 8 --sigma 0.1"
# The sweep: a name and the options it changes from DMBP's defaults (the
# default preset path-evidence, whose evidence weight is 1; lr 0.05), one
# change at a time; preset-path is the default before 0.3's path-evidence.
SWEEP="default:
lr0.02:--lr 0.02
lr0.2:--lr 0.2
completeness1:--w-completeness 1
completeness30:--w-completeness 30
sign1:--w-sign 1
sign10:--w-sign 10
nuisance0:--w-nuisance 0
nuisance3:--w-nuisance 3
evidence0:--w-evidence 0
evidence0.3:--w-evidence 0.3
evidence3:--w-evidence 3
sparsity0.1:--w-sparsity 0.1
preset-path:--preset path
preset-evidence:--preset evidence"

# The command for model $1, as run and as shown in results.md.
command_for() {
    echo "dmbp eval models/fmnist_$1.onnx --images idx:$IDX --n $N" \
        "--methods $METHODS --against $AGAINST --csv $OUT/$1.csv" \
        "--json-out $OUT/$1.json --plot $OUT/$1.svg --markdown $OUT/$1.md"
}

# The slow methods' command for model $1 (first SLOW_N images), and the
# classic preset's (DMBP's formulation before path DMBP, dmbp-method.md
# section 3) on the same images as the main run, for the paired comparison
# with the default.
command_slow() {
    echo "dmbp eval models/fmnist_$1.onnx --images idx:$IDX --n $SLOW_N" \
        "--methods $SLOW_METHODS --randomization-images 0 --csv $OUT/$1-slow.csv" \
        "--json-out $OUT/$1-slow.json --markdown $OUT/$1-slow.md"
}
# LRP (each composite is its own method setting; the default composite,
# epsilon-plus-flat) on the same images as the main run, its own table.
command_lrp() {
    echo "dmbp eval models/fmnist_$1.onnx --images idx:$IDX --n $N" \
        "--methods gxi,lrp --against gxi --csv $OUT/$1-lrp.csv" \
        "--json-out $OUT/$1-lrp.json --markdown $OUT/$1-lrp.md"
}
command_classic() {
    echo "dmbp eval models/fmnist_$1.onnx --images idx:$IDX --n $N" \
        "--methods dmbp --preset classic --randomization-images 0 --csv $OUT/$1-classic.csv" \
        "--json-out $OUT/$1-classic.json"
}

run_model() {
    start=$(date +%s)
    for what in for slow lrp classic; do
        # shellcheck disable=SC2046 # the command's words
        OMP_NUM_THREADS=1 "$DMBP" $(command_$what "$1" | cut -d' ' -f2-) \
            >"$OUT/$1.txt.tmp" 2>"$OUT/$1.err" || return 1
        [ "$what" = for ] && mv "$OUT/$1.txt.tmp" "$OUT/$1.txt"
    done
    rm -f "$OUT/$1.txt.tmp"
    echo $(($(date +%s) - start)) >"$OUT/$1.seconds"
    rm -f "$OUT/$1.err"
}

# gt_eval NAME DIR N OPTIONS...: dmbp eval of the evidence model on the
# first N images of DIR with the ground truth, into $OUT/NAME.*;
# gt_evalm MODEL NAME DIR N OPTIONS...: the same of models/MODEL.onnx.
gt_eval() {
    gt_evalm "$(basename "$EV" .onnx)" "$@"
}
gt_evalm() {
    model=models/$1.onnx name=$2 dir=$3 n=$4
    shift 4
    start=$(date +%s)
    OMP_NUM_THREADS=1 "$DMBP" eval "$model" --images "$dir" --n "$n" --ground-truth \
        --csv "$OUT/$name.csv" --json-out "$OUT/$name.json" --markdown "$OUT/$name.md" \
        "$@" >"$OUT/$name.txt.tmp" 2>"$OUT/$name.err" </dev/null
    mv "$OUT/$name.txt.tmp" "$OUT/$name.txt"
    echo $(($(date +%s) - start)) >"$OUT/$name.seconds"
    rm -f "$OUT/$name.err"
}

# bg COMMAND...: run it in the background, at most GT_JOBS at a time (a
# new job starts as soon as any one ends: polled, since POSIX sh has no
# wait -n); bg_wait: wait for all. A failure ends the run.
GT_JOBS=2
bg_pids=
bg_reap() { # wait for the jobs that ended; bg_running: how many still run
    left= bg_running=0
    for p in $bg_pids; do
        if kill -0 "$p" 2>/dev/null; then
            left="$left $p"
            bg_running=$((bg_running + 1))
        else
            wait "$p" || gt_fail
        fi
    done
    bg_pids=$left
}
bg() {
    "$@" &
    bg_pids="$bg_pids $!"
    bg_reap
    while [ "$bg_running" -ge "$GT_JOBS" ]; do
        sleep 2
        bg_reap
    done
}
bg_wait() {
    for p in $bg_pids; do
        wait "$p" || gt_fail
    done
    bg_pids=
}

# The prefix of model $1's runs in OUT.
gt_prefix() {
    if [ "models/$1.onnx" = "$EV" ]; then echo evidence; else echo "$1"; fi
}

run_truth() {
    if [ ! -r "$IDX" ]; then
        # (the sweep's choice is checked on Fashion-MNIST too)
        echo "eval-report: $IDX is missing: apt-get install dataset-fashion-mnist" >&2
        exit 1
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmbp-evidence.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    "$PY" models/make_evidence.py --split test --n "$GT_N" --out "$tmp/test"
    "$PY" models/make_evidence.py --split val --n "$GT_VAL_N" --out "$tmp/val"
    cp "$tmp/test/labels.csv" "$OUT/evidence-labels.csv"
    "$PY" docs/results_truth.py chance "$tmp/test" "$GT_N" >"$OUT/evidence-chance.json"
    ev=$(basename "$EV" .onnx)
    all_models="$ev $GT_CE_MODELS"
    echo "eval-report: ground truth: $all_models: $GT_N test images x $(echo "$GT_METHODS,$SLOW_METHODS" | tr ',' '\n' | wc -l) methods (${SLOW_METHODS} on $SLOW_N) and DMBP's classic preset; SmoothGrad x input at the sigma best on $GT_VAL_N validation images; on $ev also DMBP's evidence preset and smoothed variant and a sweep of $(echo "$SWEEP" | wc -l) DMBP settings; see $OUT/evidence*.err while it runs" >&2
    gt_start=$(date +%s)
    # Validation: the DMBP sweep on EV, SmoothGrad's noise on every model.
    echo "$SWEEP" >"$OUT/evidence-sweep.txt"
    names=
    while IFS=: read -r name opts; do
        names="$names $name"
        # shellcheck disable=SC2086 # the setting's options are words
        bg gt_eval "evidence-sweep-$name" "$tmp/val" "$GT_VAL_N" --methods dmbp \
            --randomization-images 0 $opts
    done <"$OUT/evidence-sweep.txt"
    for m in $all_models; do
        for s in $SG_SIGMAS; do
            bg gt_evalm "$m" "$(gt_prefix "$m")-sgval-$s" "$tmp/val" "$GT_VAL_N" \
                --methods smoothgrad --samples "$SG_SAMPLES" --sigma "$s" --randomization-images 0
        done
    done
    bg_wait
    # shellcheck disable=SC2046,SC2086 # the names are words
    best=$("$PY" docs/results_truth.py pick "$OUT" $(echo $names | sed 's/[^ ]*/evidence-sweep-&/g'))
    best=${best#evidence-sweep-}
    best_opts=$(echo "$SWEEP" | sed -n "s/^$best://p")
    echo "$best $best_opts" >"$OUT/evidence-choice.txt"
    : >"$OUT/evidence-sg-choice.txt"
    for m in $all_models; do
        pre=$(gt_prefix "$m")
        # shellcheck disable=SC2046 # the names are words
        sg=$("$PY" docs/results_truth.py pick-sg "$OUT" $(for s in $SG_SIGMAS; do echo "$pre-sgval-$s"; done))
        echo "$m ${sg#"$pre"-sgval-}" >>"$OUT/evidence-sg-choice.txt"
    done
    {
        for m in $all_models; do
            pre=$(gt_prefix "$m")
            sg=$(sed -n "s/^$m //p" "$OUT/evidence-sg-choice.txt")
            echo "$(command_truth "$m" "$pre") --methods $GT_METHODS --against $AGAINST"
            echo "$(command_truth "$m" "$pre-slow" "$SLOW_N") --methods $SLOW_METHODS --randomization-images 0"
            echo "$(command_truth "$m" "$pre-classic") --methods dmbp --preset classic --randomization-images 0"
            echo "$(command_truth "$m" "$pre-sg") --methods smoothgrad --samples $SG_SAMPLES --sigma $sg --randomization-images 0"
        done
        echo "$(command_truth "$ev" evidence-preset) --methods dmbp --preset evidence --randomization-images 0"
        echo "$(command_truth "$ev" evidence-smooth "$GT_SMOOTH_N") --methods dmbp $SMOOTH --randomization-images 0"
        echo "# validation: SmoothGrad's noise, for each model and sigma in $SG_SIGMAS (results_truth.py pick-sg)"
        echo "dmbp eval models/MODEL.onnx --images VAL --n $GT_VAL_N --ground-truth --methods smoothgrad --samples $SG_SAMPLES --sigma SIGMA --randomization-images 0"
        echo "# the sweep: each line of SWEEP in docs/results.sh, on the validation split"
        echo "dmbp eval $EV --images VAL --n $GT_VAL_N --ground-truth --methods dmbp --randomization-images 0 OPTIONS"
        [ "$best" = default ] || [ "$best_opts" = "--preset evidence" ] ||
            echo "$(command_truth "$ev" evidence-best) --methods dmbp --randomization-images 0 $best_opts"
    } >"$OUT/evidence-commands.txt"
    # The test split: every method on every model first (the longest runs).
    for m in $all_models; do
        bg gt_evalm "$m" "$(gt_prefix "$m")" "$tmp/test" "$GT_N" --methods "$GT_METHODS" --against "$AGAINST"
    done
    for m in $all_models; do
        pre=$(gt_prefix "$m")
        sg=$(sed -n "s/^$m //p" "$OUT/evidence-sg-choice.txt")
        bg gt_evalm "$m" "$pre-sg" "$tmp/test" "$GT_N" --methods smoothgrad \
            --samples "$SG_SAMPLES" --sigma "$sg" --randomization-images 0
        bg gt_evalm "$m" "$pre-classic" "$tmp/test" "$GT_N" --methods dmbp --preset classic \
            --randomization-images 0
        bg gt_evalm "$m" "$pre-slow" "$tmp/test" "$SLOW_N" --methods "$SLOW_METHODS" \
            --randomization-images 0
    done
    # shellcheck disable=SC2086 # SMOOTH is words
    bg gt_eval evidence-smooth "$tmp/test" "$GT_SMOOTH_N" --methods dmbp $SMOOTH \
        --randomization-images 0
    bg gt_eval evidence-preset "$tmp/test" "$GT_N" --methods dmbp --preset evidence \
        --randomization-images 0
    if [ "$best" != default ] && [ "$best_opts" != "--preset evidence" ]; then
        # (the evidence preset is run on the test split anyway)
        # shellcheck disable=SC2086 # the setting's options are words
        bg gt_eval evidence-best "$tmp/test" "$GT_N" --methods dmbp \
            --randomization-images 0 $best_opts
    else
        rm -f "$OUT"/evidence-best.*
    fi
    bg_wait
    if [ "$best" != default ]; then
        fmnist_check "$best_opts"
    else
        rm -f "$OUT"/evidence-fmnist-*
    fi
    echo "Finished $(date -u '+%Y-%m-%d %H:%M UTC'), $("$DMBP" --version | head -n 1), load average at the start $gt_load; all of it took $(minutes $(($(date +%s) - gt_start))) of wall time, $GT_JOBS processes at a time (\`OMP_NUM_THREADS=1\`), on a machine shared with other jobs." >"$OUT/evidence-run.txt"
}

# fmnist_check OPTIONS: the sweep's choice against DMBP's defaults on the
# Fashion-MNIST perturbation metrics (the first part of this report), on
# the first GT_FMNIST_N test images of each model, both run now so that
# the pairs differ only in the setting.
fmnist_check() {
    pids=
    for m in $MODELS; do
        for v in default best; do
            opts=
            [ "$v" = default ] || opts=$1
            (
                # shellcheck disable=SC2086 # the setting's options are words
                OMP_NUM_THREADS=1 "$DMBP" eval "models/fmnist_$m.onnx" --images "idx:$IDX" \
                    --n "$GT_FMNIST_N" --methods dmbp --randomization-images 0 $opts \
                    --csv "$OUT/evidence-fmnist-$m-$v.csv" --json-out "$OUT/evidence-fmnist-$m-$v.json" \
                    >/dev/null 2>"$OUT/evidence-fmnist-$m-$v.err" &&
                    rm -f "$OUT/evidence-fmnist-$m-$v.err"
            ) &
            pids="$pids $!"
        done
        for p in $pids; do
            wait "$p" || gt_fail
        done
        pids=
    done
    echo "dmbp eval models/fmnist_MODEL.onnx --images idx:$IDX --n $GT_FMNIST_N --methods dmbp --randomization-images 0 [$1]" \
        >>"$OUT/evidence-commands.txt"
}

# The command of a ground-truth run of model $1 into OUT/$2.*, as shown in
# results.md (TEST: the generated test images; $3: the images, GT_N).
command_truth() {
    echo "dmbp eval models/$1.onnx --images TEST --n ${3:-$GT_N} --ground-truth --csv $OUT/$2.csv" \
        "--json-out $OUT/$2.json --markdown $OUT/$2.md"
}

gt_fail() {
    for f in "$OUT"/evidence*.err; do
        [ -e "$f" ] || continue
        [ -s "$f" ] && echo "eval-report: $f: $(cat "$f")" >&2
    done
    exit 1
}

minutes() { awk -v s="$1" 'BEGIN { printf "%d min %02d s", s / 60, s % 60 }'; }

if [ "$DMBP" != --assemble ]; then
    case $DMBP in /*) ;; *) DMBP=$(cd "$(dirname "$DMBP")" && pwd)/$(basename "$DMBP") ;; esac
    mkdir -p "$OUT"
    gt_load=$(cut -d' ' -f1-3 /proc/loadavg)
fi

if [ "$DMBP" != --assemble ] && [ "$TRUTH_ONLY" -eq 0 ]; then
    case $DMBP in /*) ;; *) DMBP=$(cd "$(dirname "$DMBP")" && pwd)/$(basename "$DMBP") ;; esac
    if [ ! -r "$IDX" ]; then
        echo "eval-report: $IDX is missing: apt-get install dataset-fashion-mnist" >&2
        exit 1
    fi
    mkdir -p "$OUT"
    {
        echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "dmbp: $("$DMBP" --version)"
        rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
        git diff --quiet HEAD -- src 2>/dev/null || rev="$rev with uncommitted changes to src/"
        echo "commit: $rev"
        echo "machine: $(uname -srm), $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
        echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$OUT/run.txt"
    echo "eval-report: $N images x $NUM_METHODS methods (${SLOW_METHODS} on $SLOW_N) and DMBP's classic preset x 2 models, both models at once; see $OUT/*.err while it runs" >&2
    start=$(date +%s)
    pids=
    for m in $MODELS; do
        run_model "$m" &
        pids="$pids $!"
    done
    failed=0
    for p in $pids; do
        wait "$p" || failed=1
    done
    if [ "$failed" -ne 0 ]; then
        for m in $MODELS; do
            [ -s "$OUT/$m.err" ] && echo "eval-report: $m: $(cat "$OUT/$m.err")" >&2
        done
        exit 1
    fi
    echo "wall: $(($(date +%s) - start)) s for both models" >>"$OUT/run.txt"
fi
if [ "$DMBP" != --assemble ] && [ "$FMNIST_ONLY" -eq 0 ]; then
    run_truth
fi

# ---- results.md -------------------------------------------------------

field() { sed -n "s/^$1: //p" "$OUT/run.txt"; }
{
    cat <<EOF
# Faithfulness of the attribution methods on the shipped models

Generated by \`make eval-report\` (docs/results.sh) from the files in
[results/](results/): per model a CSV with one row per image and method,
a JSON summary, the plot and the tables below. Do not edit by hand: the
discussion at the end lives in docs/results-discussion.md. The short
answer is there too: [What it says about DMBP](#what-it-says-about-dmbp).

## How it was run

\`\`\`sh
make eval-report
\`\`\`

runs, for each shipped model at the same time (\`OMP_NUM_THREADS=1\`, one
process per core):

\`\`\`sh
EOF
    for m in $MODELS; do
        command_for "$m"
        command_slow "$m"
        command_lrp "$m"
        command_classic "$m"
    done
    cat <<EOF
\`\`\`

- $(field date), $(field dmbp), commit $(field commit).
- Machine: $(field machine); load average at the start $(field "load average at the start") (a shared machine: times are indicative; the metrics do not depend on them).
EOF
    for m in $MODELS; do
        echo "- fmnist_$m: $(minutes "$(cat "$OUT/$m.seconds")")."
    done
    w=$(field wall | sed 's/ s.*//')
    echo "- Both, side by side: $(minutes "$w") of wall time."
    cat <<EOF

Protocol (see dmbp(1), \`dmbp eval\`): the first $N images of the
Fashion-MNIST test set, each explained for the model's top class with
every method at its defaults (DMBP: its default preset, path DMBP, dmbp(1) \`--preset\`; as the run's JSON records it: $("$PY" - "$OUT/vgg.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
# dmbp eval's JSON since 0.3: each method's settings by field name;
# before: one line of prose under "settings".
for m in j.get("methods", []):
    if m.get("method") == "dmbp" and isinstance(m.get("settings"), dict):
        print(", ".join("%s %s" % kv for kv in m["settings"].items()))
        break
else:
    print(j.get("settings", {}).get("dmbp", "not recorded"))
PYEOF
)).
Deletion removes the map's most positive pixels first, replacing them by 0
in normalised space (the dataset mean), insertion copies them into the
blurred image; 20 steps of 5 %, score the target's softmax probability,
area under the curve. Negative evidence removes the most negative pixels
first (DMBP's A-; the negative part of a signed map) and reports the rise
of the target's logit; Grad-CAM has no sign, hence n/a. AOPC: 9x9
regions replaced by uniform noise, most relevant first; on 28x28 images
there are only 16 such tiles (the last row and column 1 pixel wide), so
AOPC here perturbs the whole image in 16 steps. Randomisation: the
weights are re-drawn from the top layer down on the first 8 images, and
the Spearman correlation of |map| with the trained model's is averaged
over the stages.

EOF
    for m in $MODELS; do
        sed 's/^### /## /' "$OUT/$m.md"
        echo
        echo "![fmnist_$m: mean deletion and insertion curves per method]($(basename "$OUT")/$m.svg)"
        echo
        if [ -r "$OUT/$m-slow.md" ]; then
            echo "fmnist_$m, the slow methods on the first $SLOW_N images (the same protocol):"
            echo
            sed '/^### /d' "$OUT/$m-slow.md"
            echo
        fi
        if [ -r "$OUT/$m-lrp.md" ]; then
            echo "fmnist_$m, LRP (composite epsilon-plus-flat) on the same $N images, beside gradient x input again (the same protocol):"
            echo
            sed '/^### /d' "$OUT/$m-lrp.md"
            echo
        fi
    done
    if [ -r "$OUT/vgg-classic.csv" ]; then
        "$PY" docs/results_truth.py classic "$OUT"
        echo
    fi
    if [ -r "$OUT/evidence.json" ]; then
        "$PY" docs/results_truth.py section "$OUT"
        echo
    fi
    if [ -r docs/results-discussion.md ]; then
        cat docs/results-discussion.md
    fi
} >"$MD.tmp"
mv "$MD.tmp" "$MD"
echo "eval-report: wrote $MD" >&2
