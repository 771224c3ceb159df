#!/usr/bin/python3
"""bf16 against float32: DMBP (200 iterations) with --fpmath bf16 and
--fpmath strict on the same images, compared as issue #13 item 1 asks:
Pearson of A+, A- and the masks m+ and m-, top-1 agreement, and
|F - F_f32| / |F_f32| (also on the scale of its parts, |F+| + |F-| + |Fn|).

Accuracy does not depend on the machine's load; no time is reported.

Usage (Debian's /usr/bin/python3 with numpy and PIL; from a build tree):
  bench/bf16_accuracy.py --dmbp ./dmbp --models CACHE/resnet50.onnx,...
      --npy-images CACHE/input8.npy [--count 2] [--iters 200] [--work DIR]

The images are the bench cache's seeded inputs (bench/export_models.py)
written as 224 x 224 PNGs and read with --no-resize --crop 224.
"""

import argparse
import json
import os
import subprocess
import tempfile

import numpy as np

from tol_study import A_NEG, A_POS, npy_pngs, pearson


def run(dmbp, model, png, fpmath, iters, out):
    masks = out + "-masks.json"
    cmd = [dmbp, "explain", model, png, "-o", out, "--json", "-q",
           "--no-resize", "--crop", "224", "--fpmath", fpmath, "--iters",
           str(iters), "--masks", masks, "--force"]
    r = json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                  check=True).stdout.splitlines()[-1])
    with open(masks) as f:
        mk = json.load(f)
    return r, np.load(r["outputs"]["npy"]), mk


def flat_masks(mk, key):
    """Every mask value of one set (m+ or m-) from --masks' JSON."""
    vals = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == key and isinstance(v, list):
                    vals.extend(np.asarray(v, dtype=np.float64).ravel())
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(mk)
    return np.array(vals)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dmbp", default="./dmbp")
    ap.add_argument("--models", required=True)
    ap.add_argument("--npy-images", required=True)
    ap.add_argument("--count", type=int, default=2)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--work")
    args = ap.parse_args()
    dmbp = os.path.abspath(args.dmbp)
    work = args.work or tempfile.mkdtemp(prefix="bf16-acc-")
    os.makedirs(work, exist_ok=True)
    pngs, _ = npy_pngs(args.npy_images, args.count, work)
    print("| model | image | A+ Pearson | A- Pearson | m+ Pearson | m- "
          "Pearson | top-1 equal | \\|F - F32\\| / \\|F32\\| | \\|F - F32\\| / "
          "(\\|F+\\|+\\|F-\\|+\\|Fn\\|) |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for model in args.models.split(","):
        name = os.path.splitext(os.path.basename(model))[0]
        for i, png in enumerate(pngs):
            base = os.path.join(work, "%s-%d" % (name, i))
            r32, a32, k32 = run(dmbp, model, png, "strict", args.iters,
                                base + "-f32")
            r16, a16, k16 = run(dmbp, model, png, "bf16", args.iters,
                                base + "-bf16")
            s32, s16 = r32["scalars"], r16["scalars"]
            parts = abs(s32["F_pos"]) + abs(s32["F_neg"]) + \
                abs(s32["F_nuisance"])
            mp = [pearson(flat_masks(k32, key), flat_masks(k16, key))
                  for key in ("m_pos", "m_neg")]
            print("| %s | %d | %.4f | %.4f | %.4f | %.4f | %s | %.4f | %.4f |"
                  % (name, i, pearson(a32[A_POS], a16[A_POS]),
                     pearson(a32[A_NEG], a16[A_NEG]), mp[0], mp[1],
                     "yes" if r32["target"] == r16["target"] else "no",
                     abs(s16["F"] - s32["F"]) / abs(s32["F"]),
                     abs(s16["F"] - s32["F"]) / parts), flush=True)
    print()
    print("Work files: %s" % work)


if __name__ == "__main__":
    main()
