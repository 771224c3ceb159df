#!/usr/bin/python3
"""The compact tables of RESULTS.md section 8 from run_neg.sh's JSON lines
in directory R: every candidate paired with the default (path-K4-i40-sign)
on the images both have.

    /usr/bin/python3 bench/dmbp_study/neg_tables.py R val|test|perturb
    (R = run_neg.sh's directory, or bench/dmbp_study/data/neg)
"""
import gzip
import json
import os
import sys
from collections import defaultdict

import common as C
from summarize import fmt, fmtd

DEF = "path-K4-i40-sign"
EV = ("evidence_cnn", "evidence_vgg", "evidence_resnet")


def load(path):
    rows = defaultdict(dict)
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"        # the committed data/neg/*.jsonl.gz
    if os.path.exists(path):
        for line in (gzip.open(path, "rt") if path.endswith(".gz") else open(path)):
            r = json.loads(line)
            rows[r["method"]][r["index"]] = r
    return rows


def short(m):
    return m.replace("path-K4-i40-sign-", "").replace("path-K4-i40-sign", "default") or m


def pair_rows(rows, cols, ref=DEF):
    out = []
    if ref not in rows:
        return out
    idx = sorted(set.intersection(*[set(v) for v in rows.values()]))
    if len(idx) < 2:
        return out
    for m in sorted(rows, key=lambda k: (k != ref, k)):
        cells = [fmt(*C.mean_se([rows[m][i][k] for i in idx])[:2]) for k in cols]
        if m != ref:
            cells += [fmtd(*C.paired([rows[m][i][k] for i in idx],
                                     [rows[ref][i][k] for i in idx])[:2]) for k in cols]
        else:
            cells += [""] * len(cols)
        out.append((m, len(idx), cells))
    return out


def main():
    R, what = sys.argv[1], sys.argv[2]
    if what in ("val", "test"):
        print("| model | method | images | + mass | − mass | + vs default | − vs default |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for m in EV:
            for meth, n, c in pair_rows(load(os.path.join(R, "%s_%s.jsonl" % (what, m))),
                                        ["pm", "nm"]):
                print("| %s | %s | %d | %s |" % (m, short(meth), n, " | ".join(c)))
        print()
        print("| model | method | images | deletion ↓ | insertion ↑ | rise 10 % ↑ | rise 20 % ↑ "
              "| deletion vs default | insertion vs default | rise 10 % vs default "
              "| rise 20 % vs default |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for m in ("vgg", "resnet"):
            rows = load(os.path.join(R, "%s_fm_%s.jsonl" % (what, m)))
            if what == "test":   # the library's classic rows, Fashion-MNIST test 0..99
                lib = os.path.join(C.HERE, "data", "fm_%s_lib.jsonl.gz" % m)
                for meth, d in load(lib).items():
                    rows["classic (library)"] = d
            for meth, n, c in pair_rows(rows, ["deletion", "insertion", "neg10", "neg20"]):
                print("| fmnist_%s | %s | %d | %s |" % (m, short(meth), n, " | ".join(c)))
    else:
        print("| model | map | images | rise 5 % ↑ | rise 10 % ↑ | rise 20 % ↑ "
              "| 5 % vs default | 10 % vs default | 20 % vs default |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for m in EV:
            for meth, n, c in pair_rows(load(os.path.join(R, "pt_%s.jsonl" % m)),
                                        ["neg5", "neg10", "neg20"]):
                print("| %s | %s | %d | %s |" % (m, short(meth), n, " | ".join(c)))


if __name__ == "__main__":
    main()
