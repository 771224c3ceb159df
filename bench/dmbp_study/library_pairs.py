#!/usr/bin/python3
"""Paired differences of the library's own `dmbp eval` CSVs (library/):
the default DMBP (path, 8 copies x 25 iterations) against IG and
SmoothGrad x input on the ground-truth models, and against the classic
preset on Fashion-MNIST. Prints the tables of LIBRARY.md.
Usage: /usr/bin/python3 bench/dmbp_study/library_pairs.py"""
import csv, math, os
D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "library")


def load(f, method):
    return {r["index"]: r for r in csv.DictReader(open(os.path.join(D, f)))
            if r["method"] == method}


def vals(x, col):
    return [float(r[col]) for r in x.values() if r[col] not in ("", "nan")]


def mean_se(v):
    n = len(v)
    mu = sum(v) / n
    return mu, math.sqrt(sum((a - mu) ** 2 for a in v) / (n - 1)) / math.sqrt(n), n


def pair(a, b, col):
    ks = [k for k in a if k in b and a[k][col] not in ("", "nan")
          and b[k][col] not in ("", "nan")]
    mu, se, n = mean_se([float(a[k][col]) - float(b[k][col]) for k in ks])
    return "%+.3f ± %.3f%s" % (mu, se, " \\*" if abs(mu) > 2 * se else "")


GT = {
    "evidence_cnn": ("evidence_cnn-dmbp-default.csv", "evidence_cnn-ig.csv"),
    "evidence_vgg": ("evidence_vgg-dmbp-ig-gxi.csv", "evidence_vgg-dmbp-ig-gxi.csv"),
    "evidence_resnet": ("evidence_resnet-dmbp-ig-gxi.csv", "evidence_resnet-dmbp-ig-gxi.csv"),
}
print("| model | default + / − mass | IG | SG×I σ .05 | SG×I σ .15 | default − IG (+ / −) | default − SG σ .05 | default − SG σ .15 |")
print("|---|---|---|---|---|---|---|---|")
for m, (fd, fi) in GT.items():
    d, ig = load(fd, "dmbp"), load(fi, "ig")
    sg = {s: load("%s-sg%s.csv" % (m, s), "smoothgrad") for s in ("0.05", "0.15")}
    cell = lambda x: "%.3f / %.3f" % (mean_se(vals(x, "pos_mass_accuracy"))[0],
                                       mean_se(vals(x, "neg_mass_accuracy"))[0])
    dif = lambda o: "%s / %s" % (pair(d, o, "pos_mass_accuracy"), pair(d, o, "neg_mass_accuracy"))
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        m, cell(d), cell(ig), cell(sg["0.05"]), cell(sg["0.15"]), dif(ig),
        dif(sg["0.05"]), dif(sg["0.15"])))
print()
print("| Fashion-MNIST model | deletion AUC, default − classic (↓ better) | insertion AUC, default − classic (↑ better) | logit rise after removing the 10 % most negative, default − classic (↑ better) |")
print("|---|---|---|---|")
for m in ("vgg", "resnet"):
    a, b = load("fmnist_%s-path.csv" % m, "dmbp"), load("fmnist_%s-classic.csv" % m, "dmbp")
    print("| %s | %s | %s | %s |" % (m, pair(a, b, "deletion_auc"), pair(a, b, "insertion_auc"),
                                     pair(a, b, "neg_rise_10")))
