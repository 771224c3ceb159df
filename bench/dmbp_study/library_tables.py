#!/usr/bin/python3
"""Tables of the library's own `dmbp eval` CSVs for issue #23 (LIBRARY.md):

  library_tables.py val    candidates K x N on the validation images
                           (library/val/, written by library_val.sh)
  library_tables.py test   the default against IG and SmoothGrad x input on
                           the test split (library/test/, library_test.sh)
  library_tables.py fmnist the default on the first 500 Fashion-MNIST test
                           images (library/fmnist500/, in chunks) against
                           the classic preset's rows of make eval-report
                           (docs/results/MODEL.csv, method dmbp, made when
                           classic was the default)

Mean ± standard error over images; differences are paired image by image,
\\* = more than 2 standard errors. The - mass averages over the images
that have evidence against the class (the others have no value)."""
import csv, math, os, sys
D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "library")


def load(path, method):
    """Rows of one method by image index; PATH-*.csv chunks are joined
    when PATH.csv itself is not there."""
    if not os.path.exists(path):
        base = path[:-4] + "-"
        d = os.path.dirname(path)
        parts = [os.path.join(d, f) for f in sorted(os.listdir(d))
                 if os.path.join(d, f).startswith(base) and f.endswith(".csv")
                 and f[len(os.path.basename(base)):-4].isdigit()] if os.path.isdir(d) else []
        if not parts:
            return None
        out = {}
        for f in parts:
            out.update(load(f, method))
        return out
    return {r["index"]: r for r in csv.DictReader(open(path))
            if r["method"] == method}


def num(r, col):
    v = r.get(col, "")
    return None if v in ("", "nan") else float(v)


def mean_se(v):
    n = len(v)
    if n < 2:
        return float("nan"), float("nan"), n
    mu = sum(v) / n
    return mu, math.sqrt(sum((a - mu) ** 2 for a in v) / (n - 1) / n), n


def cell(x, col):
    mu, se, n = mean_se([num(r, col) for r in x.values() if num(r, col) is not None])
    return "%.3f ± %.3f" % (mu, se)


def pair(a, b, col, sign=1):
    ks = [k for k in a if k in b and num(a[k], col) is not None
          and num(b[k], col) is not None]
    mu, se, n = mean_se([num(a[k], col) - num(b[k], col) for k in ks])
    z = mu / se if se > 0 else float("nan")
    return "%+.3f ± %.3f (%+.1f SE)%s" % (mu, se, z, " \\*" if abs(mu) > 2 * se else ""), n


def count(x, col):
    return sum(1 for r in x.values() if num(r, col) is not None)


GT = ("evidence_cnn", "evidence_vgg", "evidence_resnet")


def val():
    V = os.path.join(D, "val")
    cands = sorted({f.split("-", 1)[1][:-4] for f in os.listdir(V)
                    if f.startswith("evidence_") and f.endswith(".csv")},
                   key=lambda c: (-int(c.split("x")[0]), -int(c.split("x")[1])))
    ref = "8x25"
    print("Ground truth, validation split (+ / − mass; difference against %s, the shipped default):" % ref)
    print()
    print("| model | candidate | passes / classic's | + mass | − mass | + vs %s | − vs %s |" % (ref, ref))
    print("|---|---|---|---|---|---|---|")
    for m in GT:
        r = load(os.path.join(V, "%s-%s.csv" % (m, ref)), "dmbp")
        for c in cands:
            x = load(os.path.join(V, "%s-%s.csv" % (m, c)), "dmbp")
            if x is None:
                continue
            k, n = map(int, c.split("x"))
            dp = pair(x, r, "pos_mass_accuracy")[0] if r and c != ref else ""
            dn = pair(x, r, "neg_mass_accuracy")[0] if r and c != ref else ""
            print("| %s (%d / %d) | %s | %.2f | %s | %s | %s | %s |" % (
                m, len(x), count(x, "neg_mass_accuracy"), c, passes(k, n) / passes(1, 200, False),
                cell(x, "pos_mass_accuracy"), cell(x, "neg_mass_accuracy"), dp, dn))
    print()
    print("Fashion-MNIST test images 5000.. (validation for this choice), candidate − classic:")
    print()
    print("| model | candidate | deletion ↓ | insertion ↑ | deletion − classic | insertion − classic | neg. rise 10 % − classic |")
    print("|---|---|---|---|---|---|---|")
    for m in ("vgg", "resnet"):
        cl = load(os.path.join(V, "fmnist_%s-classic.csv" % m), "dmbp")
        if cl is None:
            continue
        for c in ["classic"] + cands:
            x = load(os.path.join(V, "fmnist_%s-%s.csv" % (m, c)), "dmbp")
            if x is None:
                continue
            d = [pair(x, cl, col)[0] if c != "classic" else "" for col in
                 ("deletion_auc", "insertion_auc", "neg_rise_10")]
            print("| %s (%d) | %s | %s | %s | %s | %s | %s |" % (
                m, len(x), c, cell(x, "deletion_auc"), cell(x, "insertion_auc"), *d))


def passes(k, n, path=True):
    """Lane-passes of one image (src/methods/dmbp.c): 2 lanes per copy; a
    forward, the all-ones backward, the contribution start (path only),
    per iteration a backward and a mask-gradient pass, the final backward."""
    return 2 * k * (3 + (1 if path else 0) + 2 * n)


def test():
    T = os.path.join(D, "test")
    sgv = {"evidence_cnn": "0.05", "evidence_vgg": "0.05", "evidence_resnet": "0.1"}
    sgn = {"evidence_cnn": "0.25", "evidence_vgg": "0.15", "evidence_resnet": "0.25"}
    for m in GT:
        d = load(os.path.join(T, "%s-dmbp.csv" % m), "dmbp")
        if d is None:
            continue
        rows = [("IG (32 steps)", load(os.path.join(T, "%s-ig-gxi.csv" % m), "ig")),
                ("gradient×input", load(os.path.join(T, "%s-ig-gxi.csv" % m), "gxi")),
                ("SG×I σ %s (val choice)" % sgv[m], load(os.path.join(T, "%s-sg%s.csv" % (m, sgv[m])), "smoothgrad")),
                ("SG×I σ %s (val best −)" % sgn[m], load(os.path.join(T, "%s-sg%s.csv" % (m, sgn[m])), "smoothgrad")),
                ("classic DMBP", load(os.path.join(T, "%s-classic.csv" % m), "dmbp"))]
        print("%s, test split: %d images, %d with evidence against the class explained "
              "(every row on these images unless it says otherwise)" % (m, len(d), count(d, "neg_mass_accuracy")))
        print()
        print("| method | + mass | − mass | default − method, + mass | default − method, − mass |")
        print("|---|---|---|---|---|")
        print("| default DMBP | %s | %s | | |" % (cell(d, "pos_mass_accuracy"), cell(d, "neg_mass_accuracy")))
        for name, x in rows:
            if x is None:
                continue
            x = {k: v for k, v in x.items() if k in d}  # the same images
            print("| %s | %s | %s | %s | %s |" % (
                name + ("" if len(x) == len(d) else " (%d of the images)" % len(x)),
                cell(x, "pos_mass_accuracy"), cell(x, "neg_mass_accuracy"),
                pair(d, x, "pos_mass_accuracy")[0], pair(d, x, "neg_mass_accuracy")[0]))
        print()


def fmnist():
    F = os.path.join(D, "fmnist500")
    R = os.path.join(D, "..", "..", "..", "docs", "results")
    print("| model | images | default deletion ↓ | classic deletion | default − classic (SE units) | default insertion ↑ | classic insertion | default − classic (SE units) | neg. rise 10 %, default − classic |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in ("vgg", "resnet"):
        d = load(os.path.join(F, "fmnist_%s-default.csv" % m), "dmbp")
        c = load(os.path.join(R, "%s.csv" % m), "dmbp")
        if not d or not c:
            continue
        c = {k: v for k, v in c.items() if k in d}
        print("| fmnist_%s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            m, len(d), cell(d, "deletion_auc"), cell(c, "deletion_auc"),
            pair(d, c, "deletion_auc")[0], cell(d, "insertion_auc"),
            cell(c, "insertion_auc"), pair(d, c, "insertion_auc")[0],
            pair(d, c, "neg_rise_10")[0]))


if __name__ == "__main__":
    {"val": val, "test": test, "fmnist": fmnist}[sys.argv[1] if len(sys.argv) > 1 else "test"]()
