#!/usr/bin/python3
"""bf16 against float32 on the plain input gradient (saliency), ours and
PyTorch's side by side: how much of bf16's effect on the maps
(bench/bf16_accuracy.py) is already in one backward pass, and whether
PyTorch under autocast sees the same.

For each model: the Pearson correlation between the f32 and the bf16
input gradient of the top logit, for libdmbp (`dmbp explain --method
saliency --fpmath strict|bf16`) and for PyTorch 1.13 (the same network,
bench/export_models.py's seeded weights, f32 against
torch.autocast("cpu", dtype=torch.bfloat16)), and ours f32 against
PyTorch's f32 (a check that both compute the same thing).

Usage (Debian's /usr/bin/python3 with torch, torchvision, numpy, PIL):
  bench/bf16_gradient.py --dmbp ./dmbp --cache CACHE [--models vgg16,resnet50]
      [--npy-images CACHE/input8.npy] [--work DIR]

The image is the first of --npy-images written as a 224 x 224 PNG and
read with --no-resize --crop 224, as bench/bf16_accuracy.py does.
"""

import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
import torch
from PIL import Image

import export_models
from tol_study import MEAN, STD, npy_pngs, pearson


def ours(dmbp, model, png, fpmath, out):
    cmd = [dmbp, "explain", model, png, "--no-resize", "--crop", "224",
           "--method", "saliency", "--fpmath", fpmath, "-o", out, "--force",
           "--json", "-q"]
    r = json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                  check=True).stdout.splitlines()[-1])
    return np.load(r["outputs"]["npy"]), r["target"]


def torch_grad(net, x0, target, bf16):
    x = x0.clone().requires_grad_(True)
    if bf16:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = net(x)
    else:
        y = net(x)
    y.float()[0, target].backward()
    return x.grad.numpy()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dmbp", default="./dmbp")
    ap.add_argument("--cache", required=True)
    ap.add_argument("--models", default="vgg16,resnet50")
    ap.add_argument("--npy-images")
    ap.add_argument("--work")
    args = ap.parse_args()
    dmbp = os.path.abspath(args.dmbp)
    work = args.work or tempfile.mkdtemp(prefix="bf16-gradient-")
    os.makedirs(work, exist_ok=True)
    paths, _ = npy_pngs(args.npy_images or os.path.join(args.cache, "input8.npy"),
                        1, work)
    img = np.asarray(Image.open(paths[0]).convert("RGB"),
                     np.float32).transpose(2, 0, 1) / 255.0
    x0 = torch.from_numpy(((img - MEAN) / STD)[None].astype(np.float32))
    print("| model | ours: bf16 vs f32 | PyTorch: autocast bf16 vs f32 | "
          "ours f32 vs PyTorch f32 |")
    print("|---|---:|---:|---:|")
    for name in args.models.split(","):
        onnx_path = os.path.join(args.cache, name + ".onnx")
        g32, t = ours(dmbp, onnx_path, paths[0], "strict",
                      os.path.join(work, name + "-f32.png"))
        g16, t16 = ours(dmbp, onnx_path, paths[0], "bf16",
                        os.path.join(work, name + "-bf16.png"))
        net = export_models.build(name)
        p32 = torch_grad(net, x0, t, False)
        p16 = torch_grad(net, x0, t, True)
        print("| %s | %.4f | %.4f | %.6f |" % (
            name, pearson(g32, g16), pearson(p32, p16), pearson(g32, p32)),
            flush=True)


if __name__ == "__main__":
    main()
