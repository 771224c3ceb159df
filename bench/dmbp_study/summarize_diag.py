#!/usr/bin/python3
"""Table of diag_neg.py's JSON lines (RESULTS.md section 8): medians over
images; per-layer lists from the input (layer 0) to the last mask layer.

    /usr/bin/python3 bench/dmbp_study/summarize_diag.py FILE.jsonl...
"""
import gzip
import json
import sys

import numpy as np


def med(rows, k):
    return np.median([r[k] for r in rows], axis=0)


def frac_pos(rows, k):
    return np.mean([np.asarray(r[k]) > 0 for r in rows], axis=0)


def main():
    print("| model (images, mask layers) | F | F− all layers, hard (share > 0) | F− composed | "
          "soft start F+ / F− | share of A− > 0 | share of A+ < 0 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    per = []
    for p in sys.argv[1:]:
        rows = [json.loads(line) for line in (gzip.open(p, "rt") if p.endswith(".gz")
                                              else open(p))]
        m = rows[0]["model"]
        print("| %s (%d, %d) | %.2f | %.2f (%.0f %%) | %.1f | %.2f / %.2f | %.0f %% | %.0f %% |" % (
            m, len(rows), rows[0]["L"], med(rows, "F"), med(rows, "Fneg_from")[0],
            100 * frac_pos(rows, "Fneg_from")[0], med(rows, "Fcomp"), med(rows, "Fp_soft"),
            med(rows, "Fn_soft"), 100 * med(rows, "an_pos_share"),
            100 * med(rows, "ap_neg_share")))
        per.append((m, rows))
    print()
    print("Per layer (0 = the input's), medians over images; in brackets the share of "
          "images where the value is > 0:")
    print()
    for m, rows in per:
        L = rows[0]["L"]
        print("%s:" % m)
        print()
        print("| layer | share of filters c < 0 | F− this layer alone | F− layers l..top "
              "| F+ layers l..top | F− layers l and l+1 |")
        print("|---|---:|---:|---:|---:|---:|")
        nf, fl, fn, fp = (med(rows, k) for k in ("neg_frac", "Fneg_layer", "Fneg_from",
                                                  "Fpos_from"))
        pn, pp = frac_pos(rows, "Fneg_from"), frac_pos(rows, "Fpos_from")
        fpair, ppair = med(rows, "Fneg_pair"), frac_pos(rows, "Fneg_pair")
        for l in range(L):
            pair = "%.2f (%.0f %%)" % (fpair[l], 100 * ppair[l]) if l < L - 1 else ""
            print("| %d | %.2f | %.2f | %.2f (%.0f %%) | %.2f (%.0f %%) | %s |" % (
                l, nf[l], fl[l], fn[l], 100 * pn[l], fp[l], 100 * pp[l], pair))
        print()


if __name__ == "__main__":
    main()
