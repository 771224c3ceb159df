#!/usr/bin/python3
"""Tables (Markdown) from study.py's JSON lines: mean +- s.e. per method
over the images every listed method has, and paired differences against
reference methods.

    /usr/bin/python3 bench/dmbp_study/summarize.py FILE.jsonl [--ref ig32,sgx32s0.15]
        [--methods a,b,c]
"""
import argparse
import json
import math
from collections import defaultdict

import common as C

COLS = [("pm", "+ mass"), ("nm", "− mass"), ("pr", "+ rank"), ("nr", "− rank")]


def fmt(m, se):
    if math.isnan(m):
        return "n/a"
    return "%.3f ± %.3f" % (m, se) if not math.isnan(se) else "%.3f" % m


def fmtd(m, se):
    star = " \\*" if not math.isnan(se) and abs(m) > 2 * se else ""
    return "%+.3f ± %.3f%s" % (m, se, star)


def load(paths):
    rows = defaultdict(dict)
    for p in paths:
        for line in open(p):
            r = json.loads(line)
            rows[r["method"]][r["index"]] = r
    return rows


def table(rows, methods, refs):
    common = None
    for m in methods:
        s = set(rows[m])
        common = s if common is None else common & s
    idx = sorted(common)
    out = ["%d images (indices %d..%d)" % (len(idx), idx[0], idx[-1]), "",
           "| method | " + " | ".join(c for _, c in COLS) + " | s / image |",
           "|---|" + "---:|" * (len(COLS) + 1)]
    for m in methods:
        vals = [fmt(*C.mean_se([rows[m][i][k] for i in idx])[:2]) for k, _ in COLS]
        secs = sum(rows[m][i]["secs"] for i in idx) / len(idx)
        out.append("| %s | %s | %.2f |" % (m, " | ".join(vals), secs))
    for ref in refs:
        if ref not in rows:
            continue
        out += ["", "Paired differences against %s (\\* more than 2 s.e.):" % ref, "",
                "| method | " + " | ".join(c for _, c in COLS) + " |",
                "|---|" + "---:|" * len(COLS)]
        for m in methods:
            if m == ref:
                continue
            vals = [fmtd(*C.paired([rows[m][i][k] for i in idx],
                                   [rows[ref][i][k] for i in idx])[:2]) for k, _ in COLS]
            out.append("| %s | %s |" % (m, " | ".join(vals)))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--methods")
    ap.add_argument("--ref", default="")
    a = ap.parse_args()
    rows = load(a.files)
    methods = a.methods.split(",") if a.methods else sorted(rows)
    print(table(rows, methods, [r for r in a.ref.split(",") if r]))


if __name__ == "__main__":
    main()
