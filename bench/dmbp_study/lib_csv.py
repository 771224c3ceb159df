#!/usr/bin/python3
"""Rows of a `dmbp eval` CSV (docs/results/evidence-fmnist-*-default.csv:
the library's classic DMBP at its defaults, first 100 test images) as
fmnist.py JSON lines with method "classic-lib", so the study's candidates
are paired with the library's own classic runs.

    /usr/bin/python3 bench/dmbp_study/lib_csv.py CSV MODEL > FILE.jsonl
"""
import csv
import json
import sys

for r in csv.DictReader(open(sys.argv[1])):
    if r["method"] != "dmbp":
        continue
    print(json.dumps(dict(model=sys.argv[2], index=int(r["index"]), method="classic-lib",
                          target=int(r["target"]), deletion=float(r["deletion_auc"]),
                          insertion=float(r["insertion_auc"]), neg5=float(r["neg_rise_5"]),
                          neg10=float(r["neg_rise_10"]), neg20=float(r["neg_rise_20"]),
                          secs=0.0)))
