#!/usr/bin/python3
"""Paired differences of DMBP settings against the default, from the dmbp
eval CSVs of library_weights.sh (LIBRARY.md section 7):

  lib_pairs_weights.py PREFIX COLUMNS   reads PREFIX-*.csv (PREFIX-default.csv
                                        the base), one line per setting

The statistics are library_tables.py's (mean ± standard error, paired
image by image, setting minus default)."""
import glob
import sys

from library_tables import load, num, mean_se, pair


def mean(rows, col):
    mu, _, n = mean_se([num(r, col) for r in rows.values() if num(r, col) is not None])
    return "%.3f" % mu if n >= 2 else "n/a"


prefix, cols = sys.argv[1], sys.argv[2].split(",")
base = load("%s-default.csv" % prefix, "dmbp")
for f in sorted(glob.glob("%s-*.csv" % prefix)):
    name = f[len(prefix) + 1:-4]
    rows = load(f, "dmbp")
    print("%-10s n=%d " % (name, len(rows)) + " | ".join(
        "%s %s %s" % (c, mean(rows, c), "" if name == "default" else pair(rows, base, c)[0])
        for c in cols))
