#!/usr/bin/python3
"""VGG.md's tables: every DMBP run NAME.csv in DIR paired by image (new minus
other, docs/results_truth.py's rows_of / paired) with IG and SmoothGrad x
input and with a reference DMBP run; + mass over all images, - mass over the
images with evidence against.

    vgg_pairs.py DIR [--base DIR2:NAME_IG:NAME_SG] [--ref NAME] [--only N1,N2]

--base: where IG's and SG's rows are (default DIR:base:base, i.e. DIR/base.csv
with methods ig and smoothgrad; the test split: docs/results:evidence_vgg:
evidence_vgg-sg).  --ref: the DMBP run the others are also paired with.
"""
import argparse
import glob
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs"))
import results_truth as T  # noqa: E402

COLS = ["pos_mass_accuracy", "neg_mass_accuracy"]


def mean_se(rows, col):
    v = [r[col] for r in rows.values() if r[col] is not None]
    m = sum(v) / len(v)
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)), len(v)


def cell(a, b, col):
    m, se, n = T.paired(a, b, col)
    if m is None:
        return "n/a"
    z = m / se if se else 0.0
    return "%+.4f ± %.4f (%+.1f)%s" % (m, se, z, " \\*" if z > 2 else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--base", default=None)
    ap.add_argument("--ref", default=None)
    ap.add_argument("--only", default=None)
    a = ap.parse_args()
    bdir, big, bsg = (a.base or "%s:base:base" % a.dir).split(":")
    ig = T.rows_of(bdir, big, "ig")
    sg = T.rows_of(bdir, bsg, "smoothgrad")
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(a.dir, "*.csv")))
    names = [n for n in names if n != "base"]
    if a.only:
        names = [n for n in a.only.split(",") if n in names]
    runs = {n: T.rows_of(a.dir, n, "dmbp") for n in names}
    print("n images: %d (+), %d with evidence against (−)" % (
        mean_se(ig, COLS[0])[2], mean_se(ig, COLS[1])[2]))
    print()
    print("| run | + mass | − mass |")
    print("|---|---|---|")
    for lab, r in [("IG", ig), ("SG×I", sg)] + [(n, runs[n]) for n in names]:
        print("| %s | %s |" % (lab, " | ".join("%.4f ± %.4f" % mean_se(r, c)[:2] for c in COLS)))
    print()
    hdr = ["+ vs SG×I", "+ vs IG", "− vs SG×I", "− vs IG"]
    if a.ref in runs:
        hdr += ["+ vs %s" % a.ref, "− vs %s" % a.ref]
    print("| run | " + " | ".join(hdr) + " |")
    print("|---|" + "---|" * len(hdr))
    for n in names:
        r = runs[n]
        cells = [cell(sg, r, COLS[0]), cell(ig, r, COLS[0]), cell(sg, r, COLS[1]), cell(ig, r, COLS[1])]
        if a.ref in runs:
            cells += [cell(runs[a.ref], r, COLS[0]), cell(runs[a.ref], r, COLS[1])]
        print("| %s | %s |" % (n, " | ".join(cells)))


if __name__ == "__main__":
    main()
