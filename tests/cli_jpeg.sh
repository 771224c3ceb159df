#!/bin/sh
# JPEG input through the CLI: predict gives the logits PyTorch gives on the
# same file read with Pillow (tests/ref/make_jpeg_fixtures.py), bad JPEGs
# and over-budget images get one line and their exit status.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
JPG="$top_srcdir/tests/ref/data/jpeg"
NET="$top_srcdir/tests/ref/data/resnet50_small_op13.onnx"

# The fixture's pipeline: to_tensor, resize(72, antialias), crop 64, ImageNet
# normalisation (the model's defaults apart from the sizes).
if expect_exit 0 "predict jpeg" -- "$DMBP" predict "$NET" "$JPG/predict.jpg" \
    --resize 72 --crop 64 --json; then
    ours=$(sed 's/.*"logits": \[\(.*\)\]}$/\1/; s/,//g' "$TMP/out")
    # max |ours - torch| / max |torch| <= 1e-4 (the forward fixtures' bound).
    verdict=$(echo "$ours" | awk -v ref="$(cat "$JPG/predict.logits.txt")" '{
        n = split(ref, r, " ");
        if (NF != n) { print "count " NF " vs " n; exit }
        m = 0; d = 0;
        for (i = 1; i <= n; i++) {
            a = r[i] < 0 ? -r[i] : r[i]; if (a > m) m = a;
            e = $i - r[i]; if (e < 0) e = -e; if (e > d) d = e;
        }
        printf "%s %.3g\n", (d / m <= 1e-4 ? "ok" : "bad"), d / m }')
    echo "predict.jpg: relative logit error ${verdict#* }"
    case $verdict in ok*) ;; *) fail "predict.jpg logits: $verdict (ours: $ours)" ;; esac
fi

# The format comes from the content: a JPEG named .png still reads.
cp "$JPG/predict.jpg" "$TMP/photo.png"
expect_exit 0 "jpeg named .png" -- "$DMBP" predict "$NET" "$TMP/photo.png" \
    --resize 72 --crop 64 --top 1 || true

# explain on a grey JPEG with the shipped model writes its outputs.
expect_exit 0 "explain gray jpeg" -- "$DMBP" explain "$MODELS/fmnist_vgg.onnx" \
    "$JPG/gray.jpg" --method gxi -o "$TMP/g" &&
    [ -s "$TMP/g.png" ] || fail "explain gray jpeg: no picture"

for bad in bad_truncated_data bad_12bit bad_dqt cmyk_noadobe; do
    expect_exit 4 "predict $bad" -- "$DMBP" predict "$NET" "$JPG/$bad.jpg" || continue
    [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "$bad.jpg: .*JPEG" "$TMP/err" ||
        fail "$bad: message: $(cat "$TMP/err")"
done

# #11 F7: refused from the header, cheaply, with the size exit status.
expect_exit 6 "huge png" -- "$DMBP" predict "$NET" "$JPG/huge_rgba16.png" &&
    grep -q "huge_rgba16.png: image 16384x16384 has 268435456 pixels, more than the pixel budget" "$TMP/err" ||
    fail "huge png message: $(cat "$TMP/err")"
finish
