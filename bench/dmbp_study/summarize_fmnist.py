#!/usr/bin/python3
"""Tables from fmnist.py's JSON lines: mean +- s.e. per method over the
images every listed method has, and paired differences against a reference.

    /usr/bin/python3 bench/dmbp_study/summarize_fmnist.py FILE.jsonl --ref classic
"""
import argparse
import json
from collections import defaultdict

import common as C
from summarize import fmt, fmtd

COLS = [("deletion", "deletion ↓"), ("insertion", "insertion ↑"), ("neg5", "logit rise 5 % ↑"),
        ("neg10", "10 % ↑"), ("neg20", "20 % ↑")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--methods")
    ap.add_argument("--ref", default="classic")
    a = ap.parse_args()
    rows = defaultdict(dict)
    for p in a.files:
        for line in open(p):
            r = json.loads(line)
            rows[r["method"]][r["index"]] = r
    methods = a.methods.split(",") if a.methods else sorted(rows)
    idx = sorted(set.intersection(*[set(rows[m]) for m in methods]))
    print("%d images (Fashion-MNIST test %d..%d)\n" % (len(idx), idx[0], idx[-1]))
    print("| method | " + " | ".join(c for _, c in COLS) + " | s / image |")
    print("|---|" + "---:|" * (len(COLS) + 1))
    for m in methods:
        v = [fmt(*C.mean_se([rows[m][i][k] for i in idx])[:2]) for k, _ in COLS]
        s = sum(rows[m][i]["secs"] for i in idx) / len(idx)
        print("| %s | %s | %.2f |" % (m, " | ".join(v), s))
    print("\nPaired differences against %s (\\* more than 2 s.e.; deletion: lower is better):\n"
          % a.ref)
    print("| method | " + " | ".join(c for _, c in COLS) + " |")
    print("|---|" + "---:|" * len(COLS))
    for m in methods:
        if m == a.ref:
            continue
        v = [fmtd(*C.paired([rows[m][i][k] for i in idx], [rows[a.ref][i][k] for i in idx])[:2])
             for k, _ in COLS]
        print("| %s | %s |" % (m, " | ".join(v)))


if __name__ == "__main__":
    main()
