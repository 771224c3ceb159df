#!/usr/bin/python3
"""Slow-tier parity check: dmbp against PyTorch on torchvision's CNNs.

Not run by `make check`.  Usage (from the repository root):

    /usr/bin/python3 tests/ref/torchvision_parity.py --dmbp ./dmbp --cache /tmp/dmbp-tv \\
        [--models a,b] [--opsets 13,17] [--iters 5] [--markdown FILE]

For each of the 32 classification CNNs of torchvision 0.14 (random weights:
weights=None, seeded with torch.manual_seed(0), eval mode) and each opset it

  1. exports CACHE/<name>_op<opset>.onnx (dynamic batch axis; skipped when the
     file exists and was made by the same torch/torchvision version),
  2. computes torch's logits on a seeded random image (CACHE/input<S>.png,
     S = 224, 299 for inception_v3) preprocessed as ToTensor + Normalize
     (ImageNet mean/std), no resize or crop, and gradient x input for
     torch's top class (autograd),
  3. runs `dmbp predict --json --no-resize` and checks
     max|ours - torch| <= 1e-4 * max|torch| (logits),
  4. runs `dmbp explain --method gxi --target <torch's top class>` and checks
     that the Pearson correlation of the two CxHxW maps is >= 0.999,
  5. runs `dmbp explain --method dmbp --iters N` (default 5) and checks that
     it completes with a finite map.

Prints one line per model and opset and a markdown table at the end
(--markdown FILE also writes it); exits 1 if any check failed.
--torch-only only prepares the cache; --report-only prints the table of the
kept rows without running anything.  Each finished row is kept in
CACHE/<name>_op<opset>.row.json; --resume reuses the rows already there
(made with the same --iters), so an interrupted sweep goes on where it
stopped: delete a row's file to run it again.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torchvision
from PIL import Image

MODELS = [
    # the twelve that need the modern ops
    "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
    "efficientnet_b3", "efficientnet_v2_s", "regnet_y_400mf", "mnasnet0_5",
    "mnasnet1_0", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "convnext_tiny",
    "googlenet",
    # the twenty that worked before
    "alexnet", "vgg11", "vgg13_bn", "vgg16", "vgg19", "resnet18", "resnet34",
    "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
    "densenet121", "densenet161", "densenet201", "squeezenet1_0",
    "squeezenet1_1", "mobilenet_v2", "inception_v3", "regnet_x_400mf"]
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
OPSETS = [13, 17]
TOL = 1e-4
PEARSON_MIN = 0.999


def size_of(name):
    return 299 if name == "inception_v3" else 224


def version_stamp(opset):
    return "torch %s torchvision %s opset %d" % (torch.__version__, torchvision.__version__, opset)


def build(name):
    torch.manual_seed(0)
    kw = {"init_weights": True} if name in ("googlenet", "inception_v3") else {}
    model = getattr(torchvision.models, name)(weights=None, **kw)
    return model.eval()


def ensure_onnx(name, model, path, opset):
    stamp_path = path + ".stamp"
    stamp = version_stamp(opset)
    if os.path.exists(path) and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if f.read().strip() == stamp:
                return False
    tmp = path + ".tmp"
    size = size_of(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 3, size, size), tmp, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)
    os.replace(tmp, path)
    with open(stamp_path, "w") as f:
        f.write(stamp + "\n")
    return True


def ensure_png(path, size):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    if os.path.exists(path):
        old = np.asarray(Image.open(path).convert("RGB"))
        if old.shape == img.shape and (old == img).all():
            return
    Image.fromarray(img, mode="RGB").save(path)


def load_input(path):
    # Same as torchvision.transforms ToTensor() + Normalize(MEAN, STD).
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    x = torch.from_numpy(img).permute(2, 0, 1).contiguous()
    x = (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    return x.unsqueeze(0)


def parse_json_line(out):
    for line in reversed(out.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and "logits" in obj:
                return obj
    raise ValueError("no JSON line with \"logits\" in dmbp output")


def run(cmd, timeout):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s: exit status %d: %s" % (cmd[1], p.returncode,
                                                       p.stderr.strip()[-300:]))
    return p.stdout


def check_logits(ref, obj):
    ours = np.asarray(obj["logits"], dtype=np.float64)
    if ours.shape != ref.shape or not np.all(np.isfinite(ours)):
        return None
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


def pearson(a, b):
    a = a.ravel().astype(np.float64) - a.mean()
    b = b.ravel().astype(np.float64) - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def one(args, name, opset, png, x, row):
    """Fill the table row of one model at one opset (kept on an error)."""
    model = build(name)
    path = os.path.join(args.cache, "%s_op%d.onnx" % (name, opset))
    ensure_onnx(name, model, path, opset)
    xg = x.clone().requires_grad_(True)
    out = model(xg)
    ref = out[0].detach().double().numpy()
    target = int(np.argmax(ref))
    out[0, target].backward()
    gxi_ref = (xg.grad * x)[0].numpy()
    if args.torch_only:
        return row
    rel = check_logits(ref, parse_json_line(run([args.dmbp, "predict", path, png, "--json",
                                                 "--top", "5", "--no-resize"],
                                                args.timeout)))
    row["logits"] = "error" if rel is None else "%.1e" % rel
    ok = rel is not None and rel <= TOL
    prefix = os.path.join(args.cache, "%s_op%d" % (name, opset))
    run([args.dmbp, "explain", path, png, "--method", "gxi", "--target", str(target),
         "--no-resize", "--quiet", "--force", "-o", prefix + "-gxi"], args.timeout)
    gxi = np.load(prefix + "-gxi.npy")
    r = pearson(gxi, gxi_ref) if gxi.shape == gxi_ref.shape else float("nan")
    row["gxi"] = "%.6f" % r
    ok = ok and r >= PEARSON_MIN
    t0 = time.time()
    run([args.dmbp, "explain", path, png, "--method", "dmbp", "--iters", str(args.iters),
         "--target", str(target), "--no-resize", "--quiet", "--force", "-o", prefix + "-dmbp"],
        args.timeout)
    d = np.load(prefix + "-dmbp.npy")
    fin = bool(np.all(np.isfinite(d)))
    row["dmbp"] = "ok (%.0f s)" % (time.time() - t0) if fin else "non-finite"
    row["ok"] = ok and fin


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dmbp", help="path to the dmbp program")
    ap.add_argument("--cache", required=True, help="directory for .onnx files and images")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated subset (default: all %d)" % len(MODELS))
    ap.add_argument("--opsets", default=",".join(str(o) for o in OPSETS))
    ap.add_argument("--iters", type=int, default=5, help="DMBP iterations")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per dmbp run")
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--resume", action="store_true",
                    help="reuse the rows kept in CACHE from an earlier run")
    ap.add_argument("--report-only", action="store_true",
                    help="print the table of the rows kept in CACHE (missing ones: not run)")
    ap.add_argument("--torch-only", action="store_true",
                    help="only export and compute torch's side (no dmbp)")
    args = ap.parse_args()
    if not args.torch_only and not args.report_only and not args.dmbp:
        ap.error("--dmbp is required (or use --torch-only)")
    if args.dmbp:
        args.dmbp = os.path.abspath(args.dmbp)
        if not os.access(args.dmbp, os.X_OK):
            ap.error("%s is not an executable" % args.dmbp)
    names = [n for n in args.models.split(",") if n]
    for n in names:
        if n not in MODELS:
            ap.error("unknown model %s" % n)
    opsets = [int(o) for o in args.opsets.split(",") if o]

    torch.set_num_threads(2)
    os.makedirs(args.cache, exist_ok=True)
    rows = []
    for opset in opsets:
        for name in names:
            size = size_of(name)
            png = os.path.join(args.cache, "input%d.png" % size)
            ensure_png(png, size)
            x = load_input(png)
            t0 = time.time()
            row = {"model": name, "opset": opset, "logits": "-", "gxi": "-", "dmbp": "-",
                   "ok": False, "iters": args.iters}
            row_path = os.path.join(args.cache, "%s_op%d.row.json" % (name, opset))
            if args.report_only and not os.path.exists(row_path):
                row["logits"] = "not run"
                rows.append(row)
                continue
            if (args.resume or args.report_only) and os.path.exists(row_path):
                with open(row_path) as f:
                    old = json.load(f)
                if old.get("iters") == args.iters:
                    rows.append(old)
                    print("%s %s opset %d: (kept) logits %s, gxi Pearson %s, dmbp %s" % (
                        "PASS" if old["ok"] else "FAIL", name, opset, old["logits"],
                        old["gxi"], old["dmbp"]), flush=True)
                    continue
            try:
                one(args, name, opset, png, x, row)
            except Exception as e:  # report and go on with the next model
                row["ok"] = False
                row["dmbp" if row["gxi"] != "-" else "gxi" if row["logits"] != "-"
                    else "logits"] = "error: %s" % str(e).replace("\n", " ")[:200]
            rows.append(row)
            if not args.torch_only:
                with open(row_path + ".tmp", "w") as f:
                    json.dump(row, f)
                os.replace(row_path + ".tmp", row_path)
            print("%s %s opset %d: logits %s, gxi Pearson %s, dmbp %s (%.0f s)" % (
                "PASS" if row["ok"] else "FAIL", name, opset, row["logits"], row["gxi"],
                row["dmbp"], time.time() - t0), flush=True)
    if args.torch_only:
        return 0
    lines = ["| model | opset | logits max rel. err. | gxi Pearson | DMBP (--iters %d) | |"
             % args.iters, "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %d | %s | %s | %s | %s |" % (
            r["model"], r["opset"], r["logits"], r["gxi"], r["dmbp"],
            "pass" if r["ok"] else "not run" if r["logits"] == "not run" else "FAIL"))
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    missing = sum(1 for r in rows if r["logits"] == "not run")
    failed = sum(1 for r in rows if not r["ok"]) - missing
    print("%d passed, %d failed, %d not run" % (len(rows) - failed - missing, failed, missing))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
