#!/bin/sh
# Determinism (dmbp(1), DETERMINISM): every method, run twice with the
# same inputs, options and thread count, writes bitwise identical .npy
# files; and, as measured on the shipped models, --threads 1 and
# --threads 2 give bitwise identical files too.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

OUT="$TMP/out.d"
mkdir "$OUT"
IMAGES="$MODELS/samples/bag.png $MODELS/samples/sandal.png"

for model in fmnist_vgg fmnist_resnet; do
    for m in saliency gxi ig smoothgrad guided gradcam dmbp; do
        case $m in
            ig) few="--steps 8" ;; smoothgrad) few="--samples 4" ;;
            dmbp) few="--iters 10" ;; *) few= ;;
        esac
        for run in t1a t1b t2; do
            case $run in t2) th=2 ;; *) th=1 ;; esac
            # shellcheck disable=SC2086 # $few and $IMAGES are word lists
            expect_exit 0 "$model $m $run" -- "$DMBP" explain \
                "$MODELS/$model.onnx" $IMAGES --method "$m" $few \
                --threads $th -o "$OUT/$model-$m-$run" || continue
        done
        # Each image's .npy (NAME.npy, or NAME-K.npy for several images).
        n=0
        for f in "$OUT/$model-$m-t1a"*.npy; do
            [ -e "$f" ] || continue
            n=$((n + 1))
            g=$(echo "$f" | sed "s/-t1a/-t1b/"); h=$(echo "$f" | sed "s/-t1a/-t2/")
            cmp -s "$f" "$g" || fail "$model $m: two runs with --threads 1 differ ($(basename "$f"))"
            cmp -s "$f" "$h" || fail "$model $m: --threads 1 and --threads 2 differ ($(basename "$f"))"
        done
        [ $n -gt 0 ] || fail "$model $m: no .npy written: $(ls "$OUT")"
    done
done
finish
