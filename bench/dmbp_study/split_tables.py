#!/usr/bin/python3
"""RESULTS.md section 9's table: per model and variant the cost (lane
passes / 4, dmbp_split.cost), + / - mass (mean +- s.e.) and the paired
differences against IG (ig32) and SmoothGrad x input at the val sigma, over
the images every variant has.

    /usr/bin/python3 bench/dmbp_study/split_tables.py FILE.jsonl[.gz] ...
"""
import gzip
import json
import re
import sys
from collections import defaultdict

import common as C
import dmbp_split as SP

SG = {"evidence_cnn": "sgx32s0.05", "evidence_vgg": "sgx32s0.05",
      "evidence_resnet": "sgx32s0.1"}
CLASSIC = 201.5


def cost(m):
    if m.startswith("split"):
        return SP.cost(SP.parse(m))
    k = re.match(r"path-K(\d+)-i(\d+)", m)
    return SP.path_cost(int(k.group(1)), int(k.group(2))) if k else float("nan")


def d(a, b):
    m, se, _ = C.paired(a, b)
    return "%+.3f ± %.3f%s" % (m, se, " \\*" if abs(m) > 2 * se else "")


def main():
    rows = defaultdict(lambda: defaultdict(dict))
    for p in sys.argv[1:]:
        for line in (gzip.open(p, "rt") if p.endswith(".gz") else open(p)):
            r = json.loads(line)
            rows[r["model"]][r["method"]][r["index"]] = r
    for model, by in rows.items():
        sg = SG[model]
        methods = [m for m in by if m.startswith(("path", "split"))]
        idx = set(by["ig32"]) & set(by[sg])
        for m in methods:
            idx &= set(by[m])
        idx = sorted(idx)
        print("\n%s, val, %d images\n" % (model, len(idx)))
        v = {m: {k: [by[m][i][k] for i in idx] for k in ("pm", "nm")} for m in by}
        for ref in ("ig32", sg):
            print("%s: + %.3f, − %.3f" % (ref, C.mean_se(v[ref]["pm"])[0],
                                          C.mean_se(v[ref]["nm"])[0]))
        print("\n| variant | cost (× classic) | + mass | − mass | + vs IG | − vs IG | + vs SG×I | − vs SG×I |")
        print("|---|---|---|---|---|---|---|---|")
        for m in methods:
            c = cost(m)
            pm, pse, _ = C.mean_se(v[m]["pm"])
            nm, nse, _ = C.mean_se(v[m]["nm"])
            print("| %s | %.0f (%.2f) | %.3f ± %.3f | %.3f ± %.3f | %s | %s | %s | %s |" % (
                m, c, c / CLASSIC, pm, pse, nm, nse,
                d(v[m]["pm"], v["ig32"]["pm"]), d(v[m]["nm"], v["ig32"]["nm"]),
                d(v[m]["pm"], v[sg]["pm"]), d(v[m]["nm"], v[sg]["nm"])))


if __name__ == "__main__":
    main()
