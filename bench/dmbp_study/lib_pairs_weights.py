"""Paired differences of DMBP settings against the default, from dmbp eval CSVs
(library_weights.sh): lib_pairs_weights.py PREFIX COLUMNS reads PREFIX-*.csv."""
import csv, math, sys, glob, os
def rows(f, method="dmbp"):
    r = {}
    for x in csv.DictReader(open(f)):
        if x["method"] == method:
            r[int(x["index"])] = x
    return r
def pair(a, b, c):
    d = [float(b[i][c]) - float(a[i][c]) for i in a if i in b and a[i][c] != "" and b[i][c] != ""]
    if len(d) < 2: return "n/a"
    m = sum(d)/len(d); se = math.sqrt(sum((x-m)**2 for x in d)/(len(d)-1)/len(d))
    return "%+.3f ± %.3f (%+.1f SE)" % (m, se, m/se if se else 0)
def mean(a, c):
    v = [float(a[i][c]) for i in a if a[i][c] != ""]
    return "%.3f" % (sum(v)/len(v)) if v else "n/a"
pre, cols = sys.argv[1], sys.argv[2].split(",")
base = rows("%s-default.csv" % pre)
for f in sorted(glob.glob("%s-*.csv" % pre)):
    name = f[len(pre)+1:-4]
    r = rows(f)
    print("%-10s n=%d " % (name, len(r)) + " | ".join("%s %s %s" % (c, mean(r, c), "" if name == "default" else pair(base, r, c)) for c in cols))
