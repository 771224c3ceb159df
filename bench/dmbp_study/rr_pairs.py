#!/usr/bin/python3
"""RESULTS.md section 9's test tables: a DMBP run of rr_test.sh (OUT) paired
with the rows of docs/results/ on the same images (docs/results_truth.py's
rows_of and paired): + / - mass against IG, SmoothGrad x input at the val
sigma (the -sg runs), today's default (the main runs' dmbp rows) and the
classic preset; Fashion-MNIST deletion / insertion against the classic
preset and today's default.

    /usr/bin/python3 bench/dmbp_study/rr_pairs.py OUT [docs/results]
"""
import csv
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs"))
import results_truth as T  # noqa: E402

GT = [("evidence_cnn", "evidence"), ("evidence_vgg", "evidence_vgg"),
      ("evidence_resnet", "evidence_resnet")]
COLS = ["pos_mass_accuracy", "neg_mass_accuracy"]
FM = ["deletion_auc", "insertion_auc"]


def cell(m, se, n):
    if m is None:
        return "n/a"
    z = m / se if se else 0.0
    return "%+.4f ± %.4f (%+.1f SE%s, %d)" % (m, se, z, ", \\*" if abs(z) > 2 else "", n)


def mean_se(rows, col):
    v = [r[col] for r in rows.values() if r[col] is not None]
    m = sum(v) / len(v)
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)), len(v)


def fm_rows(path, method="dmbp"):
    out = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["method"] == method:
                out[int(r["index"])] = {c: float(r[c]) if r[c] else None for c in FM}
    return out


def main():
    out = sys.argv[1]
    ref = sys.argv[2] if len(sys.argv) > 2 else "docs/results"
    print("| model | DMBP + / − mass | vs | + mass (new − other) | − mass (new − other) |")
    print("|---|---|---|---|---|")
    for model, base in GT:
        if not os.path.exists(os.path.join(out, model + ".csv")):
            continue
        new = T.rows_of(out, model, "dmbp")
        ms = " / ".join("%.3f ± %.3f" % mean_se(new, c)[:2] for c in COLS)
        others = [("IG", base, "ig"), ("SG×I (val σ)", base + "-sg", "smoothgrad"),
                  ("default (path K4×40)", base, "dmbp"), ("classic", base + "-classic", "dmbp")]
        for label, name, method in others:
            o = T.rows_of(ref, name, method)
            print("| %s | %s | %s | %s |" % (model, ms, label, " | ".join(
                cell(*T.paired(o, new, c)) for c in COLS)))
    print()
    print("| model | deletion ↓ / insertion ↑ | vs | deletion (new − other) | insertion (new − other) |")
    print("|---|---|---|---|---|")
    for m in ("vgg", "resnet"):
        p = os.path.join(out, "fmnist_%s.csv" % m)
        if not os.path.exists(p):
            continue
        new = fm_rows(p)
        ms = " / ".join("%.3f ± %.3f" % mean_se(new, c)[:2] for c in FM)
        for label, f in (("classic", "%s-classic.csv" % m), ("default (path K4×40)", "%s.csv" % m)):
            o = fm_rows(os.path.join(ref, f))
            print("| fmnist_%s | %s | %s | %s |" % (m, ms, label, " | ".join(
                cell(*T.paired(o, new, c)) for c in FM)))


if __name__ == "__main__":
    main()
