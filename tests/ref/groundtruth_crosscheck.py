#!/usr/bin/python3
"""Cross-check of `dmbp eval --ground-truth` against numpy, from saved maps.

    /usr/bin/python3 tests/ref/groundtruth_crosscheck.py --dmbp ./dmbp \\
        [--model models/evidence_cnn.onnx] [--images models/evidence] \\
        [--methods dmbp,saliency,gxi,ig,smoothgrad,guided,gradcam]

For every image of --images (NAME.png with NAME.truth.png beside it) and
every method, it saves the map with `dmbp explain -o` (the raw .npy:
C x H x W, for DMBP 5 x C x H x W = W+, W-, A+, A-, N), and runs
`dmbp eval --ground-truth --csv` once over the same images.  Then it
recomputes the six ground-truth columns in numpy from the saved maps and
the truth PNGs (read by PIL) and compares them with the CSV, image by
image.  Exit status 1 on any disagreement.

What numpy computes (the definitions of libdmbp(3) "Ground truth",
written again here, not taken from the library):
  signed maps   s = sum over channels; pos = max(s, 0), neg = max(-s, 0)
  unsigned maps (gradcam): pos = the channel sum, no negative columns
  dmbp          pos = sum_c max(A+, 0), neg = sum_c max(-A-, 0)
  (each summed in float64 and stored as float32, as the library does)
  mass    sum(e[mask]) / sum(e), 0 when sum(e) == 0
  rank    K = |mask|; t = the K-th largest e; if t <= 0: #(mask & e > 0)/K,
          else (#(mask & e > t) + (K - #(e > t)) #(mask & e == t)/#(e == t)) / K
  pointing  p = np.argmax(e) (first in row-major order); 1 if e[p] > 0 and
          some mask pixel lies within 4 px (Euclidean) of p, else 0
  an empty mask: all three not defined (an empty CSV field)
Tolerance: 1e-6 on mass and rank (float32 maps, sums in double on both
sides); pointing exactly.

smoothgrad (and smoothed DMBP) draw noise: eval seeds image i with seed + i,
so explain is run with --seed i for image i.
"""

import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

TOL = 1e-6
POINTING_TOLERANCE = 4
UNSIGNED = {"gradcam"}
TRUTH_FOR, TRUTH_AGAINST = 1, 2


def scores(e, truth, value):
    mask = truth == value
    k = int(mask.sum())
    if k == 0:
        return (math.nan, math.nan, math.nan)
    e = e.astype(np.float64)
    total = e.sum()
    mass = e[mask].sum() / total if total > 0 else 0.0
    t = np.sort(e.ravel())[::-1][k - 1]
    if t <= 0:
        rank = float((mask & (e > 0)).sum()) / k
    else:
        above = int((e > t).sum())
        at = int((e == t).sum())
        rank = ((mask & (e > t)).sum() + (k - above) * (mask & (e == t)).sum() / at) / k
    p = np.unravel_index(np.argmax(e), e.shape)
    point = 0.0
    if e[p] > 0:
        ys, xs = np.nonzero(mask)
        d2 = (ys - p[0]) ** 2 + (xs - p[1]) ** 2
        point = 1.0 if (d2 <= POINTING_TOLERANCE ** 2).any() else 0.0
    return (mass, rank, point)


def maps(method, arr):
    if method == "dmbp":
        ap, an = arr[2].astype(np.float64), arr[3].astype(np.float64)
        pos = np.maximum(ap, 0).sum(0)
        neg = np.maximum(-an, 0).sum(0)
        return pos.astype(np.float32), neg.astype(np.float32)
    s = arr.astype(np.float64).sum(0)
    pos = np.maximum(s, 0).astype(np.float32)
    if method in UNSIGNED:
        return pos, None
    return pos, np.maximum(-s, 0).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dmbp", required=True)
    ap.add_argument("--model", default="models/evidence_cnn.onnx")
    ap.add_argument("--images", default="models/evidence")
    ap.add_argument("--methods", default="dmbp,saliency,gxi,ig,smoothgrad,guided,gradcam")
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="gt_crosscheck_")
    os.makedirs(work, exist_ok=True)
    methods = args.methods.split(",")
    names = sorted(f for f in os.listdir(args.images)
                   if f.lower().endswith(".png") and not f.lower().endswith(".truth.png"))
    csv_path = os.path.join(work, "eval.csv")
    subprocess.run([args.dmbp, "eval", args.model, "--images", args.images,
                    "--methods", args.methods, "--ground-truth", "--csv", csv_path,
                    "--randomization-images", "0", "--steps", "2", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    rows = {}
    with open(csv_path, newline="") as f:
        for r in csv.DictReader(f):
            rows[(os.path.basename(r["image"]), r["method"])] = r
    cols = [("pos_mass_accuracy", "pos_rank_accuracy", "pos_pointing"),
            ("neg_mass_accuracy", "neg_rank_accuracy", "neg_pointing")]
    bad = checked = 0
    worst = 0.0
    for i, name in enumerate(names):
        truth = np.array(Image.open(os.path.join(args.images, name[:-4] + ".truth.png")))
        for m in methods:
            prefix = os.path.join(work, "%s-%s" % (name[:-4], m))
            cmd = [args.dmbp, "explain", args.model, os.path.join(args.images, name),
                   "--method", m, "-o", prefix, "--quiet"]
            if m in ("smoothgrad", "dmbp"):
                cmd += ["--seed", str(i)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            arr = np.load(prefix + ".npy")
            pos, neg = maps(m, arr)
            row = rows[(name, m)]
            for part, (e, value) in enumerate(((pos, TRUTH_FOR), (neg, TRUTH_AGAINST))):
                want = scores(e, truth, value) if e is not None else (math.nan,) * 3
                for c, w in zip(cols[part], want):
                    got = float(row[c]) if row[c] != "" else math.nan
                    checked += 1
                    if math.isnan(w) or math.isnan(got):
                        ok = math.isnan(w) and math.isnan(got)
                    else:
                        ok = abs(got - w) <= TOL if "pointing" not in c else got == w
                        worst = max(worst, abs(got - w))
                    if not ok:
                        bad += 1
                        print("DIFF %s %s %s: dmbp eval %r, numpy %r" % (name, m, c, got, w))
    print("%d images x %d methods: %d values compared, %d differ, largest "
          "|difference| %.3g (tolerance %g; pointing exact)"
          % (len(names), len(methods), checked, bad, worst, TOL))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
