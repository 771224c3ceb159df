#!/usr/bin/python3
"""Every attribution method on every torchvision classification CNN (#24).

Not run by `make check`. From the repository root:

    OMP_NUM_THREADS=1 nice -n 19 /usr/bin/python3 tests/ref/torchvision_methods.py \\
        --dmbp ./dmbp --cache ~/.cache/dmbp-tv [--models a,b] [--methods a,b] \\
        [--markdown FILE]

For each of torchvision_parity.py's 32 CNNs (random weights, seeded, the
same static opset-13 export and cache files) it runs `dmbp explain` on the
seeded 224x224 noise image (299 for inception_v3) with --threads 1 and
--no-resize, once per method, and records per model and method: `ok` (exit
0, a finite map that is not all zero), `zero` (a CAM method's all-zero
map: the ReLU of a weighted sum can be zero), `refused` (a documented
non-zero exit status with its one-line message), or `WRONG` (a crash, a
signal, a non-finite map, another method's all-zero map, no map file, or
more than --cpu-limit seconds of CPU). The settings are
cut down so that the sweep takes about an hour of one core (SETTINGS); it
checks that each method runs and what it refuses, not the maps' values
(tests/ref/torchvision_parity.py and torchvision_lrp.py do that for some).
Rows are kept in CACHE/methods/<model>.<method>.json and reused (delete one
to run it again). Exit status 1 if any entry is WRONG.
"""

import argparse
import glob
import json
import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torchvision_parity import MODELS, build, ensure_onnx, ensure_png, size_of  # noqa: E402

OPSET = 13
# Cut-down settings: what the sweep runs instead of the defaults (named
# in the table's header).
SETTINGS = {
    "lrp": ["--composite", "epsilon-plus-flat"],
    "dmbp": ["--iters", "2"],
    "saliency": [],
    "gxi": [],
    "ig": ["--steps", "4"],
    "smoothgrad": ["--samples", "2"],
    "guided": [],
    "gradcam": [],
    "gradcam++": [],
    "scorecam": [],  # and --layer: the Conv with the fewest channels (cam_layer)
    "occlusion": ["--window", "56", "--stride", "56"],
    "rise": ["--samples", "16"],
}
# Maps that end in a ReLU of a weighted sum: all zero is possible.
CAMS = {"gradcam", "gradcam++", "scorecam"}
# Exit statuses dmbp documents for a model or option it refuses (dmbp(1)).
REFUSALS = {2, 3, 4, 5, 6}


def cam_layer(dmbp, model):
    """The first Conv with the fewest output channels (`dmbp info
    --layers`): Score-CAM runs one forward pass per channel of its layer
    (2048 at ResNet50's default layer, 64 at its first Conv)."""
    p = subprocess.run([dmbp, "info", "--layers", model], capture_output=True, text=True,
                       check=True)
    best = None
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0].isdigit() and f[2] == "Conv":
            ch = int(line.split("[", 1)[1].split(",")[1])
            if best is None or ch < best[0]:
                best = (ch, f[1])
    return ["--layer", best[1]] if best else []


def run_one(dmbp, model, png, method, out, cpu_limit):
    """One explain run, limited in CPU time (not wall time: at nice 19 on a
    busy machine a run may wait for hours)."""
    cmd = [dmbp, "explain", model, png, "--method", method, "--no-resize", "--quiet",
           "--force", "--threads", "1", "-o", out] + SETTINGS[method]
    if method == "scorecam":
        cmd += cam_layer(dmbp, model)

    def limit():
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_limit), int(cpu_limit) + 5))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    row = {"seconds": round(cpu, 1), "exit": p.returncode}
    if p.returncode in (-signal.SIGXCPU, -signal.SIGKILL) and cpu >= cpu_limit:
        row.update(status="WRONG", why="over %.0f s of CPU time" % cpu_limit)
        return row
    err = [l for l in p.stderr.splitlines() if l.strip()]
    if p.returncode in REFUSALS:
        row.update(status="refused", why=err[-1] if err else "(no message)")
        if len(err) != 1:
            row.update(status="WRONG", why="%d stderr lines: %s" % (len(err), " | ".join(err)))
        return row
    if p.returncode != 0:
        row.update(status="WRONG", why="exit %d: %s" % (p.returncode, " | ".join(err[-3:])))
        return row
    if not os.path.exists(out + ".npy"):
        row.update(status="WRONG", why="no map written")
        return row
    m = np.load(out + ".npy").astype(np.float64)
    row["max_abs"] = float(np.abs(m).max()) if m.size else 0.0
    if not np.isfinite(m).all():
        row.update(status="WRONG", why="non-finite map (%d values)" % int((~np.isfinite(m)).sum()))
    elif row["max_abs"] == 0 and method in CAMS:
        row.update(status="zero", why="all-zero map (the ReLU of a sum with no positive "
                                      "part; to be checked against PyTorch)")
    elif row["max_abs"] == 0:
        row.update(status="WRONG", why="all-zero map")
    else:
        row.update(status="ok", why=p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "")
    return row


def table(rows, models, methods):
    out = ["| model | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for mo in models:
        cells = []
        for me in methods:
            r = rows.get((mo, me))
            cells.append("-" if r is None else {"ok": "ok", "refused": "refused",
                                                "zero": "zero",
                                                "WRONG": "**WRONG**"}[r["status"]])
        out.append("| %s | %s |" % (mo, " | ".join(cells)))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dmbp", default="./dmbp")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/dmbp-tv"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--methods", default=",".join(SETTINGS))
    ap.add_argument("--cpu-limit", type=float, default=1200,
                    help="CPU seconds per run (default 1200)")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    rowdir = os.path.join(args.cache, "methods")
    os.makedirs(rowdir, exist_ok=True)
    models, methods = args.models.split(","), args.methods.split(",")
    rows = {}
    # Method by method (LRP first, as listed), so that a sweep cut short
    # has every model for the first methods.
    for method in methods:
        for name in models:
            size = size_of(name)
            png = os.path.join(args.cache, "input%d.png" % size)
            ensure_png(png, "random", size)
            path = os.path.join(args.cache, "%s_op%d_static.onnx" % (name, OPSET))
            keep = os.path.join(rowdir, "%s.%s.json" % (name, method))
            if os.path.exists(keep):
                with open(keep) as f:
                    rows[(name, method)] = json.load(f)
                continue
            ensure_onnx(name, build(name), path, OPSET, "static")
            out = os.path.join(rowdir, "%s-%s" % (name, method))
            row = run_one(args.dmbp, path, png, method, out, args.cpu_limit)
            for f in glob.glob(glob.escape(out) + "*"):
                os.remove(f)
            rows[(name, method)] = row
            with open(keep, "w") as f:
                json.dump(row, f)
            print("%-20s %-10s %-7s %6.1f s CPU  %s" % (name, method, row["status"],
                                                      row.get("seconds", 0), row.get("why", "")),
                  flush=True)
    md = table(rows, models, methods)
    print(md)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md + "\n")
    return 1 if any(r["status"] == "WRONG" for r in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
