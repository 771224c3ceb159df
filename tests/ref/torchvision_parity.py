#!/usr/bin/python3
"""Slow-tier parity check: dmbp against PyTorch on torchvision's CNNs.

Not run by `make check`.  Usage (from the repository root):

    /usr/bin/python3 tests/ref/torchvision_parity.py --dmbp ./dmbp --cache /tmp/tvcache \\
        [--models a,b] [--opsets 13,17] [--export static|dynamic] [--iters 5] \\
        [--steps 8] [--samples 4] [--markdown FILE] [--resume] [--report-only]

For each of the 32 classification CNNs of torchvision 0.14 (random weights:
weights=None, seeded with torch.manual_seed(0), eval mode) and each opset it

  1. exports CACHE/<name>_op<opset>_<export>.onnx: `static` (the default) is
     torch.onnx.export's default, a batch of 1 written into the graph (what
     most users make: ShuffleNet's channel shuffle then reshapes with a
     constant batch of 1); `dynamic` names the batch axis (dynamic_axes).
     Skipped when the file exists and was made by the same torch/torchvision.
  2. on two images (S = 224, 299 for inception_v3): CACHE/input<S>.png, seeded
     uniform noise, and CACHE/probe<S>.png, the smooth synthetic probe image
     of issue #20 (sines and a product of the coordinates, 8-bit), both
     preprocessed as ToTensor + Normalize (ImageNet mean/std), no resize or
     crop, computes PyTorch's logits and, for its top class, autograd's
       gxi  gradient x input,
       ig   integrated gradients, zero baseline, midpoint rule, --steps steps,
       sg   SmoothGrad of gradient x input with --samples samples, the noise
            drawn from dmbp's documented generator (splitmix64, Box-Muller,
            sd = sigma (max x - min x), seed 0; redone here in numpy),
  3. runs `dmbp predict --json --no-resize`: max|ours - torch| <= 1e-4 *
     max|torch| (logits),
  4. runs `dmbp explain --method gxi|ig|smoothgrad` with the same settings
     and checks Pearson >= 0.999 against PyTorch's map for each. Where one
     is lower, PyTorch's map is computed again in float64: when PyTorch's own
     float32 and float64 maps also correlate below 0.999, the gradient is
     decided by float32 rounding (max-pooling choices between entries that
     differ by less than rounding: see docs/model-support.md) and the entry
     is marked `ill-conditioned` with both numbers instead of failing;
  5. runs `dmbp explain --method dmbp --iters N` (default 5) and checks that
     it completes with a finite map (DMBP runs 2 lanes, IG and SmoothGrad
     several: the multi-lane paths).

Prints one line per model and opset and a markdown table at the end
(--markdown FILE also writes it); exits 1 if any check failed.
--torch-only only prepares the cache; --report-only prints the table of the
kept rows without running anything.  Each finished row is kept in
CACHE/<name>_op<opset>_<export>.row.json with the settings it ran with;
--resume reuses the rows made with the same settings, so an interrupted sweep
goes on where it stopped: delete a row's file to run it again.
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
IMAGES = ("random", "probe")
SG_SIGMA = 0.15  # dmbp's SmoothGrad default (--sigma)


def size_of(name):
    return 299 if name == "inception_v3" else 224


def version_stamp(opset, export):
    return "torch %s torchvision %s opset %d %s" % (torch.__version__, torchvision.__version__,
                                                    opset, export)


def build(name):
    torch.manual_seed(0)
    kw = {"init_weights": True} if name in ("googlenet", "inception_v3") else {}
    model = getattr(torchvision.models, name)(weights=None, **kw)
    return model.eval()


def ensure_onnx(name, model, path, opset, export):
    stamp_path = path + ".stamp"
    stamp = version_stamp(opset, export)
    if os.path.exists(path) and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if f.read().strip() == stamp:
                return False
    tmp = path + ".tmp"
    size = size_of(name)
    kw = {}
    if export == "dynamic":
        kw["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 3, size, size), tmp, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          do_constant_folding=True, **kw)
    os.replace(tmp, path)
    with open(stamp_path, "w") as f:
        f.write(stamp + "\n")
    return True


def image_pixels(kind, size):
    if kind == "random":
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    # /work/shared/repro/googlenet_gxi.py's probe, at any size
    yy, xx = np.mgrid[0:size, 0:size] / float(size)
    rgb = np.stack([0.5 + 0.5 * np.sin(6 * xx + 3 * yy), 0.5 + 0.5 * np.cos(5 * yy - 2 * xx),
                    xx * yy], -1)
    return (rgb * 255).round().astype(np.uint8)


def ensure_png(path, kind, size):
    img = image_pixels(kind, size)
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


def dmbp_normals(seed, count):
    """The first `count` draws of dmbp's generator (src/methods/common.c):
    splitmix64 from state `seed`, uniforms ((z >> 11) + 1) / 2^53, Box-Muller
    pairs (cos first, then the spare sin)."""
    pairs = (count + 1) // 2
    with np.errstate(over="ignore"):
        k = np.arange(1, 2 * pairs + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = ((z >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * (1.0 / 9007199254740992.0)
    u1, u2 = u[0::2], u[1::2]
    rad = np.sqrt(-2.0 * np.log(u1))
    out = np.empty(2 * pairs)
    out[0::2] = rad * np.cos(2 * np.pi * u2)
    out[1::2] = rad * np.sin(2 * np.pi * u2)
    return out[:count]


def grads(model, xs, target):
    xg = xs.clone().requires_grad_(True)
    out = model(xg)
    g, = torch.autograd.grad(out[:, target].sum(), xg)
    return g


def torch_maps(model, x, target, args, dtype):
    """gxi, ig and sg maps (C x H x W, float64 numpy) as dmbp defines them."""
    m = model if dtype == torch.float32 else build_cache(model, dtype)
    xd = x.to(dtype)
    res = {"gxi": (grads(m, xd, target) * xd)[0]}
    n = args.steps
    alphas = torch.tensor([(k + 0.5) / n for k in range(n)], dtype=dtype).view(n, 1, 1, 1)
    res["ig"] = xd[0] * grads(m, alphas * xd, target).sum(0) / n
    per = x.numel()
    xf = x[0].numpy().astype(np.float32).ravel()
    sd = float(np.float32(SG_SIGMA)) * (float(xf.max()) - float(xf.min()))  # C: (double)sigma, a float
    eps = (dmbp_normals(0, per * args.samples) * sd).astype(np.float32)
    xs = torch.from_numpy((eps.reshape(args.samples, per) + xf).reshape(args.samples, *x.shape[1:]))
    xs = xs.to(dtype)
    res["sg"] = (grads(m, xs, target) * xs).mean(0)
    return {k: v.detach().double().numpy() for k, v in res.items()}


_f64 = {}


def build_cache(model, dtype):
    key = (id(model), dtype)
    if key not in _f64:
        _f64.clear()
        import copy
        _f64[key] = copy.deepcopy(model).to(dtype)
    return _f64[key]


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
        raise RuntimeError("%s %s: exit status %d: %s" % (cmd[1], " ".join(cmd[4:6]),
                                                          p.returncode,
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


METHOD_ARGS = {"gxi": ["--method", "gxi"],
               "ig": ["--method", "ig", "--baseline", "zero", "--ig-rule", "midpoint"],
               "sg": ["--method", "smoothgrad", "--seed", "0", "--sigma", str(SG_SIGMA)]}


def one_image(args, model, name, path, png, x, prefix):
    """Results of one image: a dict of strings and a pass flag (None: an
    entry is ill-conditioned and nothing failed)."""
    with torch.no_grad():
        ref = model(x)[0].double().numpy()
    target = int(np.argmax(ref))
    maps = torch_maps(model, x, target, args, torch.float32)
    res = {}
    rel = check_logits(ref, parse_json_line(run([args.dmbp, "predict", path, png, "--json",
                                                 "--top", "5", "--no-resize"], args.timeout)))
    res["logits"] = "error" if rel is None else "%.1e" % rel
    ok = rel is not None and rel <= TOL
    ill = False
    maps64 = None
    common = ["--target", str(target), "--no-resize", "--quiet", "--force"]
    extra = {"gxi": [], "ig": ["--steps", str(args.steps)], "sg": ["--samples", str(args.samples)]}
    for meth in ("gxi", "ig", "sg"):
        out = "%s-%s" % (prefix, meth)
        run([args.dmbp, "explain", path, png] + METHOD_ARGS[meth] + extra[meth] + common +
            ["-o", out], args.timeout)
        got = np.load(out + ".npy").astype(np.float64)
        want = maps[meth]
        r = pearson(got, want) if got.size == want.size else float("nan")
        txt = "%.6f" % r
        if not r >= PEARSON_MIN:
            if maps64 is None:
                maps64 = torch_maps(model, x, target, args, torch.float64)
            self_r = pearson(want, maps64[meth])
            r64 = pearson(got, maps64[meth]) if got.size == want.size else float("nan")
            if self_r < PEARSON_MIN:
                txt += " (ill-conditioned: torch f32 vs f64 %.4f, ours vs f64 %.4f)" % (self_r, r64)
                ill = True
            else:
                ok = False
                txt += " (torch f32 vs f64 %.4f)" % self_r
        res[meth] = txt
    t0 = time.time()
    run([args.dmbp, "explain", path, png, "--method", "dmbp", "--iters", str(args.iters)] +
        common + ["-o", prefix + "-dmbp"], args.timeout)
    d = np.load(prefix + "-dmbp.npy")
    fin = bool(np.all(np.isfinite(d)))
    res["dmbp"] = "ok (%.0f s)" % (time.time() - t0) if fin else "non-finite"
    ok = ok and fin
    return res, ok, ill


def one(args, name, opset, row):
    """Fill the table row of one model at one opset (kept on an error)."""
    model = build(name)
    path = os.path.join(args.cache, "%s_op%d_%s.onnx" % (name, opset, args.export))
    ensure_onnx(name, model, path, opset, args.export)
    if args.torch_only:
        return
    size = size_of(name)
    row["ok"] = True
    for kind in IMAGES:
        png = os.path.join(args.cache, "%s%d.png" % (kind, size))
        ensure_png(png, kind, size)
        row["now"] = kind
        res, ok, ill = one_image(args, model, name, path, png, load_input(png),
                                 os.path.join(args.cache, "%s_op%d_%s_%s" % (
                                     name, opset, args.export, kind)))
        row[kind] = res
        row["ok"] = row["ok"] and ok
        row["ill"] = row.get("ill", False) or ill
    del row["now"]


def settings(args):
    return {"iters": args.iters, "steps": args.steps, "samples": args.samples,
            "export": args.export}


def status(r):
    if r.get("not_run"):
        return "not run"
    if not r["ok"]:
        return "FAIL"
    return "pass (ill-conditioned entries)" if r.get("ill") else "pass"


def cell(r, key):
    vals = [r.get(k, {}).get(key, "-") for k in IMAGES]
    return " / ".join(vals)


def describe(r):
    if r.get("error"):
        return "error: " + r["error"]
    return "; ".join("%s: logits %s, gxi %s, ig %s, sg %s, dmbp %s" % (
        k, r[k]["logits"], r[k]["gxi"], r[k]["ig"], r[k]["sg"], r[k]["dmbp"])
        for k in IMAGES if k in r)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dmbp", help="path to the dmbp program")
    ap.add_argument("--cache", required=True, help="directory for .onnx files and images")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated subset (default: all %d)" % len(MODELS))
    ap.add_argument("--opsets", default=",".join(str(o) for o in OPSETS))
    ap.add_argument("--export", choices=("static", "dynamic"), default="static",
                    help="batch axis of the export: torch's default static 1, or dynamic_axes")
    ap.add_argument("--iters", type=int, default=5, help="DMBP iterations")
    ap.add_argument("--steps", type=int, default=8, help="IG steps")
    ap.add_argument("--samples", type=int, default=4, help="SmoothGrad samples")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per dmbp run")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--label", default="", help="kept in each row (e.g. the commit of --dmbp)")
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--resume", action="store_true",
                    help="reuse the rows kept in CACHE from an earlier run")
    ap.add_argument("--report-only", action="store_true",
                    help="print the table of the rows kept in CACHE (missing ones: not run)")
    ap.add_argument("--torch-only", action="store_true",
                    help="only export (no dmbp)")
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

    torch.set_num_threads(args.threads)
    os.makedirs(args.cache, exist_ok=True)
    rows = []
    for name in names:
        for opset in opsets:
            t0 = time.time()
            row = {"model": name, "opset": opset, "ok": False, "settings": settings(args),
                   "label": args.label}
            row_path = os.path.join(args.cache, "%s_op%d_%s.row.json" % (name, opset,
                                                                           args.export))
            old = None
            if (args.resume or args.report_only) and os.path.exists(row_path):
                with open(row_path) as f:
                    old = json.load(f)
                if old.get("settings") != settings(args):
                    old = None
            if old is not None:
                rows.append(old)
                print("%s %s opset %d: (kept) %s" % (status(old), name, opset, describe(old)),
                      flush=True)
                continue
            if args.report_only:
                row["not_run"] = True
                rows.append(row)
                continue
            try:
                one(args, name, opset, row)
            except Exception as e:  # report and go on with the next model
                row["ok"] = False
                row["error"] = "%s: %s" % (row.pop("now", "export"),
                                           str(e).replace("\n", " ")[:300])
            if args.torch_only:
                continue
            rows.append(row)
            with open(row_path + ".tmp", "w") as f:
                json.dump(row, f)
            os.replace(row_path + ".tmp", row_path)
            print("%s %s opset %d: %s (%.0f s)" % (status(row), name, opset, describe(row),
                                                   time.time() - t0), flush=True)
    if args.torch_only:
        return 0
    lines = ["| model | opset | logits max rel. err. | gxi Pearson | IG Pearson | "
             "SmoothGrad Pearson | DMBP (--iters %d) | | run with |" % args.iters,
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("error") or r.get("not_run"):
            lines.append("| %s | %d | %s | | | | | %s | %s |" % (
                r["model"], r["opset"], r.get("error", "not run"), status(r),
                r.get("label", "")))
            continue
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            r["model"], r["opset"], cell(r, "logits"), cell(r, "gxi"), cell(r, "ig"),
            cell(r, "sg"), cell(r, "dmbp"), status(r), r.get("label", "")))
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    missing = sum(1 for r in rows if r.get("not_run"))
    failed = sum(1 for r in rows if not r["ok"]) - missing
    print("%d passed, %d failed, %d not run" % (len(rows) - failed - missing, failed, missing))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
