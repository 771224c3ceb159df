#!/usr/bin/python3
"""DMBP's convergence stop (--tol) against the full 200 iterations.

For each model and tolerance: the iterations each image ran (the JSON's
"iterations" scalar), the Pearson correlation of its A+ and A- with the
200-iteration maps, and (for the tolerances in --eval-tols) the change of
the mean deletion and insertion AUC that `dmbp eval` reports. Prints a
Markdown table and the per-model rule of issue #13: --tol may become the
default only if A+ and A- both stay at Pearson >= 0.99 on >= 95 % of the
images.

Iteration counts and correlations do not depend on the machine's load
(every run is deterministic); timings would, so none are reported.

Usage (Debian's /usr/bin/python3 with numpy and PIL; from a build tree):
  bench/tol_study.py --dmbp ./dmbp [--n 200] [--tols 0.01,0.001]
      [--eval-tols 0.01] [--models models/fmnist_vgg.onnx,...]
      [--npy-images FILE.npy --npy-count 2]  (224x224 images, e.g. the
      bench cache's input8.npy, for ResNet50: --models .../resnet50.onnx)
      [--work DIR] [--auc-only]  (with --npy-images too: dmbp eval over
      those images, --no-resize --crop 224)

Fashion-MNIST images: the first N of Debian's dataset-fashion-mnist test
set, written as 8-bit PNGs (what `dmbp eval --images idx:` reads).
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

IDX = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)
A_POS, A_NEG = 2, 3        # dmbp explain's .npy: w+, w-, A+, A-, nuisance
RULE_PEARSON, RULE_SHARE = 0.99, 0.95


def idx_pngs(n, d):
    with gzip.open(IDX, "rb") as f:
        raw = f.read()
    count, h, w = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big")
                   for i in range(3))
    imgs = np.frombuffer(raw[16:], np.uint8).reshape(count, h, w)
    paths = []
    for i in range(n):
        p = os.path.join(d, "img%04d.png" % i)
        Image.fromarray(imgs[i]).save(p)
        paths.append(p)
    return paths, []


def npy_pngs(path, n, d):
    """Preprocessed ImageNet inputs back to 8-bit RGB (224 x 224), read
    again with --no-resize --crop 224 (rounding to 8 bits changes them)."""
    x = np.load(path)[:n]
    paths = []
    for i, a in enumerate(x):
        rgb = np.clip((a * STD + MEAN) * 255 + 0.5, 0, 255).astype(np.uint8)
        p = os.path.join(d, "img%04d.png" % i)
        Image.fromarray(rgb.transpose(1, 2, 0)).save(p)
        paths.append(p)
    return paths, ["--no-resize", "--crop", "224"]


def idx_images(n):
    return ["--images", "idx:" + IDX, "--n", str(n)]


def list_images(paths, extra, lst):
    with open(lst, "w") as f:
        f.write("\n".join(paths) + "\n")
    return ["--images", lst] + extra


def explain(dmbp, model, paths, extra, tol, out):
    lst = out + ".list"
    with open(lst, "w") as f:
        f.write("\n".join(paths) + "\n")
    cmd = [dmbp, "explain", model, "--images", lst, "-O", out, "--json",
           "-q", "--tol", str(tol)] + extra
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    iters, maps = {}, {}
    for line in res.stdout.splitlines():
        r = json.loads(line)
        if r.get("status") != "ok":
            continue
        iters[r["input"]] = int(r["scalars"]["iterations"])
        maps[r["input"]] = np.load(r["outputs"]["npy"])
    return iters, maps


def eval_auc(dmbp, model, images, tol, out):
    """images: dmbp eval's arguments naming the images (idx_images or
    list_images)."""
    cmd = [dmbp, "eval", model] + images + [
           "--methods", "dmbp", "--tol", str(tol), "--randomization-images",
           "0", "--csv", out + ".csv", "-q"]
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    dele, ins = [], []
    with open(out + ".csv") as f:
        head = f.readline().strip().split(",")
        di, ii = head.index("deletion_auc"), head.index("insertion_auc")
        for line in f:
            c = line.strip().split(",")
            dele.append(float(c[di]))
            ins.append(float(c[ii]))
    return np.array(dele), np.array(ins)


def pearson(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    d = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / d) if d > 0 else 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dmbp", default="./dmbp")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--tols", default="0.01,0.001")
    ap.add_argument("--eval-tols", default="0.01")
    ap.add_argument("--models",
                    default="models/fmnist_vgg.onnx,models/fmnist_resnet.onnx")
    ap.add_argument("--npy-images")
    ap.add_argument("--npy-count", type=int, default=2)
    ap.add_argument("--work")
    ap.add_argument("--auc-only", action="store_true",
                    help="only the deletion/insertion AUC change of "
                    "--eval-tols (no maps, no iteration counts)")
    args = ap.parse_args()
    dmbp = os.path.abspath(args.dmbp)
    tols = [float(t) for t in args.tols.split(",") if t]
    eval_tols = [float(t) for t in args.eval_tols.split(",") if t]
    work = args.work or tempfile.mkdtemp(prefix="tol-study-")
    os.makedirs(work, exist_ok=True)
    if args.auc_only:
        if args.npy_images:
            paths, extra = npy_pngs(args.npy_images, args.npy_count, work)
            images = list_images(paths, extra, os.path.join(work, "images.list"))
        else:
            images = idx_images(args.n)
        print("| model | images | tol | deletion AUC (200 it. -> tol) | "
              "insertion AUC (200 it. -> tol) | images whose deletion / "
              "insertion AUC changed by > 0.01 |")
        print("|---|---:|---:|---|---|---|")
        for model in args.models.split(","):
            name = os.path.splitext(os.path.basename(model))[0]
            d0, i0 = eval_auc(dmbp, model, images, 0,
                              os.path.join(work, name + "-eval-full"))
            for tol in eval_tols:
                d1, i1 = eval_auc(dmbp, model, images, tol, os.path.join(
                    work, "%s-eval-%g" % (name, tol)))
                print("| %s | %d | %g | %.4f -> %.4f (%+.4f) | %.4f -> %.4f "
                      "(%+.4f) | %d / %d |"
                      % (name, len(d0), tol, d0.mean(), d1.mean(),
                         d1.mean() - d0.mean(), i0.mean(), i1.mean(),
                         i1.mean() - i0.mean(),
                         int((abs(d1 - d0) > 0.01).sum()),
                         int((abs(i1 - i0) > 0.01).sum())), flush=True)
        return
    if args.npy_images:
        paths, extra = npy_pngs(args.npy_images, args.npy_count, work)
    else:
        paths, extra = idx_pngs(args.n, work)

    print("| model | images | tol | iterations mean (min-max) | saved | "
          "A+ Pearson min / median | A- Pearson min / median | images with "
          "both >= %.2f | deletion AUC (200 it. -> tol) | insertion AUC "
          "(200 it. -> tol) |" % RULE_PEARSON)
    print("|---|---:|---:|---|---:|---|---|---:|---|---|")
    verdicts = []
    for model in args.models.split(","):
        name = os.path.splitext(os.path.basename(model))[0]
        base_it, base = explain(dmbp, model, paths, extra, 0,
                                os.path.join(work, name + "-full"))
        auc0 = None
        if eval_tols and not args.npy_images:
            auc0 = eval_auc(dmbp, model, idx_images(args.n), 0,
                            os.path.join(work, name + "-eval-full"))
        ok_all = True
        for tol in tols:
            it, maps = explain(dmbp, model, paths, extra, tol,
                               os.path.join(work, "%s-%g" % (name, tol)))
            keys = [k for k in base if k in maps]
            n_it = np.array([it[k] for k in keys])
            full = np.array([base_it[k] for k in keys])
            pp = np.array([pearson(base[k][A_POS], maps[k][A_POS]) for k in keys])
            pn = np.array([pearson(base[k][A_NEG], maps[k][A_NEG]) for k in keys])
            good = int(((pp >= RULE_PEARSON) & (pn >= RULE_PEARSON)).sum())
            passes = good >= RULE_SHARE * len(keys)
            ok_all &= passes
            d_txt = i_txt = "not measured"
            if auc0 is not None and tol in eval_tols:
                d1, i1 = eval_auc(dmbp, model, idx_images(args.n), tol,
                                  os.path.join(work, "%s-eval-%g" % (name, tol)))
                d_txt = "%.4f -> %.4f (%+.4f)" % (auc0[0].mean(), d1.mean(),
                                                 d1.mean() - auc0[0].mean())
                i_txt = "%.4f -> %.4f (%+.4f)" % (auc0[1].mean(), i1.mean(),
                                                 i1.mean() - auc0[1].mean())
            print("| %s | %d | %g | %.1f (%d-%d) | %.0f %% | %.4f / %.4f | "
                  "%.4f / %.4f | %d (%.0f %%) | %s | %s |"
                  % (name, len(keys), tol, n_it.mean(), n_it.min(), n_it.max(),
                     100.0 * (1 - n_it.sum() / full.sum()), pp.min(),
                     np.median(pp), pn.min(), np.median(pn), good,
                     100.0 * good / len(keys), d_txt, i_txt))
            sys.stdout.flush()
        verdicts.append("%s: %s" % (name, "every tolerance passes the rule"
                                    if ok_all else "a tolerance fails the rule"))
    print()
    print("Rule (issue #13): Pearson >= %.2f for A+ and A- on >= %.0f %% of "
          "the images. %s. Work files: %s"
          % (RULE_PEARSON, 100 * RULE_SHARE, "; ".join(verdicts), work))


if __name__ == "__main__":
    main()
