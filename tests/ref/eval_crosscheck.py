#!/usr/bin/python3
"""Cross-check of `dmbp eval` (docs/results.md) against a PyTorch reference.

Run with Debian's python3 (python3-torch, python3-onnx, numpy), from
anywhere:

    /usr/bin/python3 tests/ref/eval_crosscheck.py                  # both models
    /usr/bin/python3 tests/ref/eval_crosscheck.py --model models/fmnist_vgg.onnx --n 100

It recomputes, for the first N Fashion-MNIST test images, the deletion and
insertion AUCs of gradient x input (gxi), integrated gradients (ig) and
SmoothGrad (smoothgrad) in PyTorch, independently of libdmbp, and compares
them per image with the per-image CSV that `make eval-report` wrote
(docs/results/<vgg|resnet>.csv; --csv overrides, with one --model). It
writes docs/results/crosscheck.md (--out overrides; the sections of models
not run this time are kept) and prints the same Markdown.

Independence
------------
The ONNX graph runs in the OnnxNet torch interpreter of
tests/ref/make_grad_fixtures.py (gradients by torch autograd through it, the
library's derivative rules); the metrics are tests/ref/make_metrics_fixtures.py's
torch implementation of the protocols documented at the top of
src/metrics.c. Only the CSV is read from the library's side.

What is computed (dmbp eval's defaults, as in docs/results.sh)
--------------------------------------------------------------
x: the IDX3 image as float32 v/255, then (v - 0.2860)/0.3530 (float32,
subtraction then true division, like the library). t = argmax f(x).
  gxi         df_t/dx * x (float32 product)
  ig          (x - x0) * sum_k w_k df_t/dx(x0 + a_k (x - x0)), x0 = 0,
              midpoint rule, 32 steps (a_k = (k + 0.5)/32, w_k = 1/32),
              accumulated in float64
  smoothgrad  mean_k x_k * df_t/dx(x_k), x_k = x + eps_k, 16 samples,
              eps from make_grad_fixtures.normals(seed 0, image index i)
              scaled by sigma_abs = (double)0.15f * (max x - min x), rounded
              to float32; products and mean in float64
The path points / samples of one image run as one batch (the per-sample
loops of make_grad_fixtures.integrated_gradients / smoothgrad give the same
maps; the script checks that on image 0 and reports the difference).
Metrics: pixel scores = mean over channels of max(map, 0) (signed maps);
deletion: zero substrate, insertion: blur start (kernel 11, sigma 5), 20
steps (21 points), softmax probability of t, trapezoid AUC; ties by the
splitmix64 permutation with seed 0 (the eval's --seed, the same for every
image).

Comparison
----------
Per method and metric over the same N images: torch mean +- s.e., libdmbp
mean +- s.e., the paired difference torch - libdmbp (mean +- s.e.), the
largest per-image |difference|, and "agree" when |mean difference| <= the
s.e. of the libdmbp mean. s.e. = sample standard deviation / sqrt(N), as
dmbp eval computes it. Targets (top classes) are compared too.

Time: about 0.5 s per image and model on one thread (torch.set_num_threads,
--threads, default 1).
"""

import argparse
import csv
import datetime
import gzip
import math
import os
import shlex
import struct
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import make_grad_fixtures as G      # noqa: E402  (OnnxNet, normals, ig_alphas)
import make_metrics_fixtures as M   # noqa: E402  (pixel_scores, curve, blur)

IDX = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
MEAN, STD = 0.2860, 0.3530
MODELS = ["models/fmnist_vgg.onnx", "models/fmnist_resnet.onnx"]
OUT = os.path.join(REPO, "docs", "results", "crosscheck.md")
METHODS = ["gxi", "ig", "smoothgrad"]
METRICS = [("deletion_auc", "deletion AUC"), ("insertion_auc", "insertion AUC")]
IG_STEPS, IG_RULE = 32, "midpoint"
SG_SAMPLES, SG_SEED = 16, 0
SG_SIGMA = float(np.float32(0.15))  # the library's 0.15f, widened to double
STEPS = 20
assert M.SEED == 0 and M.BLUR_RADIUS == 5 and M.BLUR_SIGMA == 5.0


# --------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------
def read_idx3(path, n):
    """First n images of a gzip IDX3 file: n x 1 x h x w float32, preprocessed."""
    with gzip.open(path, "rb") as f:
        magic, total, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x00000803:
            sys.exit("%s: not an IDX3 file of unsigned bytes (magic 0x%08x)"
                     % (path, magic))
        if n > total:
            sys.exit("%s: has %d images, asked for %d" % (path, total, n))
        raw = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8)
    v = raw.reshape(n, 1, rows, cols).astype(np.float32) / np.float32(255.0)
    return ((v - np.float32(MEAN)) / np.float32(STD)).astype(np.float32)


# --------------------------------------------------------------------------
# Maps (x: 1xCxHxW float32 tensor)
# --------------------------------------------------------------------------
def batch_grad(net, xb, t):
    """df_t/dx for each row of the batch xb (rows are independent)."""
    xb = xb.detach().clone().requires_grad_(True)
    y, _, _ = net.run(xb)
    (g,) = torch.autograd.grad(y[:, t].sum(), xb)
    return g


def map_gxi(net, x, t):
    return (batch_grad(net, x, t) * x)[0]


def map_ig(net, x, t):
    alphas, weights = G.ig_alphas(IG_RULE, IG_STEPS)
    a = torch.tensor(np.array(alphas, dtype=np.float32)).view(-1, 1, 1, 1)
    xb = a * x                                   # x0 = 0: x0 + a (x - x0)
    g = batch_grad(net, xb, t).double()
    w = torch.tensor(weights, dtype=torch.float64).view(-1, 1, 1, 1)
    acc = (w * g).sum(dim=0, keepdim=True)
    return (x.double() * acc).float()[0]


def sg_noise(x, image_index):
    xd = x.double()
    sigma_abs = SG_SIGMA * (float(xd.max()) - float(xd.min()))
    z = G.normals(SG_SEED, image_index, SG_SAMPLES * x[0].numel())
    return torch.from_numpy((z * sigma_abs).astype(np.float32)).view(
        SG_SAMPLES, *x.shape[1:])


def map_smoothgrad(net, x, t, image_index):
    xk = x + sg_noise(x, image_index)            # float32
    g = batch_grad(net, xk, t)
    return ((xk.double() * g.double()).sum(dim=0) / SG_SAMPLES).float()


def check_batched(net, x, t, image_index, maps):
    """The batched maps against make_grad_fixtures' per-sample loops:
    max |diff| / max |map| per method."""
    ig, _ = G.integrated_gradients(net, x, t, IG_RULE, IG_STEPS)
    sg, _, _, _ = G.smoothgrad(net, x, t, image_index, K=SG_SAMPLES,
                               sigma=SG_SIGMA, seed=SG_SEED)
    out = {}
    for k, ref in (("ig", ig[0]), ("smoothgrad", sg[0])):
        out[k] = float((maps[k] - ref).abs().max() / ref.abs().max())
    return out


# --------------------------------------------------------------------------
# Library CSV
# --------------------------------------------------------------------------
def read_csv(path, n):
    """{(index, method): row} for the methods compared; checks completeness."""
    rows = {}
    with open(path, newline="") as f:
        rd = csv.DictReader(f)
        need = {"index", "method", "target", "prob"} | {m for m, _ in METRICS}
        missing = need - set(rd.fieldnames or [])
        if missing:
            sys.exit("%s: no column(s) %s" % (path, ", ".join(sorted(missing))))
        for r in rd:
            if r["method"] in METHODS and int(r["index"]) < n:
                rows[(int(r["index"]), r["method"])] = r
                if r.get("image") and "#" in r["image"]:
                    src = r["image"].rsplit("#", 1)[0]
                    if os.path.basename(src) != os.path.basename(IDX):
                        sys.exit("%s: image %s is not from %s" % (path, r["image"], IDX))
    lack = [(i, m) for i in range(n) for m in METHODS if (i, m) not in rows]
    if lack:
        sys.exit("%s: no rows for %d of the first %d images x %s (e.g. image %d %s); "
                 "use a smaller --n" % (path, len(lack), n, ",".join(METHODS),
                                        lack[0][0], lack[0][1]))
    return rows


def default_csv(model):
    stem = os.path.splitext(os.path.basename(model))[0]
    if stem.startswith("fmnist_"):
        stem = stem[len("fmnist_"):]
    return os.path.join(REPO, "docs", "results", stem + ".csv")


def csv_run_info(path):
    """date and commit lines of run.txt next to the CSV, if any."""
    info = {}
    rt = os.path.join(os.path.dirname(path), "run.txt")
    if os.path.exists(rt):
        with open(rt) as f:
            for line in f:
                k, _, v = line.partition(": ")
                info[k.strip()] = v.strip()
    return info


# --------------------------------------------------------------------------
# Statistics and Markdown
# --------------------------------------------------------------------------
def stats(v):
    v = np.asarray(v, dtype=np.float64)
    m = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
    return m, se


def fmt(m, se, d=4):
    return "%.*f ± %.*f" % (d, m, d, se)


def fmt_e(m, se):
    return "%.1e ± %.1e" % (m, se)


def rel(path):
    p = os.path.relpath(os.path.abspath(path), REPO)
    return path if p.startswith("..") else p


def section(model, res):
    name = os.path.basename(model)
    n = res["n"]
    L = ["<!-- crosscheck:%s -->" % name, "## %s" % name, ""]
    L.append("- Command: `%s`" % res["command"])
    L.append("- Date: %s; %s; %.0f s for the torch side (%d thread%s)."
             % (res["date"], res["versions"], res["seconds"], res["threads"],
                "" if res["threads"] == 1 else "s"))
    L.append("- N = %d: images 0-%d of `%s`; libdmbp numbers from `%s`%s."
             % (n, n - 1, IDX, rel(res["csv"]), res["csv_run"]))
    L.append("- Top class: torch and libdmbp agree on %d of %d images%s; "
             "max |Δ softmax probability of it| %.2e."
             % (n - len(res["target_mismatch"]), n,
                (" (differ on %s)" % ", ".join(map(str, res["target_mismatch"][:20]))
                 if res["target_mismatch"] else ""), res["prob_maxdiff"]))
    L.append("- Batched maps vs make_grad_fixtures' per-sample loops on image 0 "
             "(max |Δ| / max |map|): ig %.1e, smoothgrad %.1e (float32 rounding: "
             "a batch and a single image may put one path point or sample on the "
             "other side of a ReLU kink or MaxPool tie)."
             % (res["batched"]["ig"], res["batched"]["smoothgrad"]))
    L.append("")
    L.append("Difference = torch − libdmbp, per image, over the same images; "
             "*agree* when |mean difference| ≤ the standard error of the libdmbp "
             "mean. Means ± standard errors.")
    L.append("")
    L.append("| method | metric | torch | libdmbp | difference | max \\|difference\\| "
             "| images with \\|difference\\| > 1e-3 | agree |")
    L.append("|---|---|---:|---:|---:|---:|---:|---|")
    for meth in METHODS:
        for key, label in METRICS:
            tv = np.array(res["torch"][meth][key])
            lv = np.array(res["lib"][meth][key])
            d = tv - lv
            tm, ts = stats(tv)
            lm, ls = stats(lv)
            dm, ds = stats(d)
            ok = abs(dm) <= ls if not math.isnan(ls) else abs(dm) == 0
            L.append("| %s | %s | %s | %s | %s | %.2e | %d | %s |"
                     % (meth, label, fmt(tm, ts), fmt(lm, ls), fmt_e(dm, ds),
                        float(np.abs(d).max()), int((np.abs(d) > 1e-3).sum()),
                        "yes" if ok else "**no**"))
            res.setdefault("verdicts", []).append(ok)
    L += ["", "<!-- /crosscheck:%s -->" % name]
    return "\n".join(L) + "\n"


HEADER = """# Cross-check of `dmbp eval` against PyTorch

Written by `tests/ref/eval_crosscheck.py` (see its docstring for the exact
protocol): deletion and insertion AUCs of gradient x input, integrated
gradients and SmoothGrad recomputed in PyTorch (the OnnxNet interpreter of
tests/ref/make_grad_fixtures.py and the metric protocols of
tests/ref/make_metrics_fixtures.py), independently of libdmbp, and compared
per image with the CSV of `make eval-report` (docs/results/*.csv, the
numbers behind docs/results.md). Do not edit by hand.

"""


def merge(out, sections):
    """Keep the sections of other models already in `out`."""
    old = {}
    if os.path.exists(out):
        with open(out) as f:
            text = f.read()
        pos = 0
        while True:
            a = text.find("<!-- crosscheck:", pos)
            if a < 0:
                break
            name = text[a + len("<!-- crosscheck:"):text.find(" -->", a)]
            end_tag = "<!-- /crosscheck:%s -->" % name
            b = text.find(end_tag, a)
            if b < 0:
                break
            old[name] = text[a:b + len(end_tag)] + "\n"
            pos = b + len(end_tag)
    old.update(sections)
    order = [os.path.basename(m) for m in MODELS]
    names = [k for k in order if k in old] + sorted(k for k in old if k not in order)
    return HEADER + "\n".join(old[k] for k in names)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def run_model(model, csv_path, n, images, command, threads):
    t0 = time.time()
    rows = read_csv(csv_path, n)
    net = G.OnnxNet(model)
    res = dict(n=n, csv=csv_path, command=command, threads=threads,
               torch={m: {k: [] for k, _ in METRICS} for m in METHODS},
               lib={m: {k: [] for k, _ in METRICS} for m in METHODS},
               target_mismatch=[], prob_maxdiff=0.0)
    info = csv_run_info(csv_path)
    res["csv_run"] = (" (eval run of %s, commit %s)" % (info["date"], info.get("commit", "?"))
                      if "date" in info else "")
    for i in range(n):
        x = torch.from_numpy(images[i:i + 1])
        with torch.no_grad():
            logits = net.run(x)[0]
        t = int(logits[0].argmax())
        prob = float(torch.softmax(logits.double(), dim=1)[0, t])
        maps = {"gxi": map_gxi(net, x, t), "ig": map_ig(net, x, t),
                "smoothgrad": map_smoothgrad(net, x, t, i)}
        if i == 0:
            res["batched"] = check_batched(net, x, t, i, maps)
        xi = images[i]
        for meth in METHODS:
            r = rows[(i, meth)]
            if int(r["target"]) != t:
                if i not in res["target_mismatch"]:
                    res["target_mismatch"].append(i)
            res["prob_maxdiff"] = max(res["prob_maxdiff"], abs(prob - float(r["prob"])))
            scores = M.pixel_scores(maps[meth].detach().numpy(), 1)
            _, dauc = M.curve(net, xi, t, scores, False, steps=STEPS)
            _, iauc = M.curve(net, xi, t, scores, True, steps=STEPS)
            res["torch"][meth]["deletion_auc"].append(dauc)
            res["torch"][meth]["insertion_auc"].append(iauc)
            for k, _ in METRICS:
                res["lib"][meth][k].append(float(r[k]))
        if (i + 1) % 10 == 0 or i + 1 == n:
            el = time.time() - t0
            print("  %s: %d/%d images, %.0f s (%.2f s/image)"
                  % (os.path.basename(model), i + 1, n, el, el / (i + 1)),
                  file=sys.stderr, flush=True)
    res["seconds"] = time.time() - t0
    res["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    res["versions"] = "torch %s, numpy %s" % (torch.__version__, np.__version__)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append",
                    help="ONNX model (repeatable; default: both shipped models)")
    ap.add_argument("--n", type=int, default=100, help="first N test images (default 100)")
    ap.add_argument("--csv", help="libdmbp's per-image CSV (only with one --model; "
                    "default docs/results/<vgg|resnet>.csv)")
    ap.add_argument("--out", default=OUT, help="Markdown output (default %s)" % rel(OUT))
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    a = ap.parse_args()
    models = a.model or [os.path.join(REPO, m) for m in MODELS]
    if a.csv and len(models) != 1:
        ap.error("--csv needs exactly one --model")
    if a.n < 2:
        ap.error("--n must be at least 2 (standard errors)")
    torch.set_num_threads(a.threads)
    images = read_idx3(IDX, a.n)
    script = os.path.relpath(os.path.abspath(__file__), REPO)
    command = " ".join(["/usr/bin/python3", script] + [shlex.quote(s) for s in sys.argv[1:]])
    sections, failed = {}, False
    for model in models:
        if not os.path.exists(model):
            sys.exit("%s: no such model" % model)
        res = run_model(model, a.csv or default_csv(model), a.n, images, command, a.threads)
        sec = section(model, res)
        sections[os.path.basename(model)] = sec
        failed |= not all(res["verdicts"]) or bool(res["target_mismatch"])
        print(sec, flush=True)
    text = merge(a.out, sections)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, a.out)
    print("wrote %s" % rel(a.out), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
