"""Shared pieces of the study: inputs, ground-truth scores, statistics."""

import math
import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models"))
sys.path.insert(0, os.path.join(REPO, "tests", "ref"))
import make_evidence as ev            # noqa: E402
import groundtruth_crosscheck as gc   # noqa: E402  (scores: the library's definitions)

MODELS = {"evidence_cnn": "models/evidence_cnn.onnx",
          "evidence_vgg": "models/evidence_vgg.onnx",
          "evidence_resnet": "models/evidence_resnet.onnx"}


def norm_of(net):
    mean = np.array([float(v) for v in net.meta["dmbp.mean"].split(",")], np.float32)
    std = np.array([float(v) for v in net.meta["dmbp.std"].split(",")], np.float32)
    return mean, std


def preprocess(u8, net):
    """HxWx3 uint8 -> 1x3xHxW float32 like the library: v/255, (v-mean)/std."""
    mean, std = norm_of(net)
    v = u8.astype(np.float32) / np.float32(255.0)
    v = (v - mean) / std
    return torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1)[None]).astype(np.float32))


def load_png(path, net):
    return preprocess(np.asarray(Image.open(path).convert("RGB")), net)


def against_images(split, n, start=0):
    """The first n images of the split (from index start) that have evidence
    against the labelled class: [(index, uint8 image, truth, label)]."""
    out = []
    i = start
    while len(out) < n:
        p = ev.draw_params(ev.SEED, split, i)
        if any(o["hollow"] and o["kind"] == p["label"] for o in p["objects"]):
            img, truth = ev.render(p)
            out.append((i, img, truth, p["label"]))
        i += 1
    return out


def signed_maps(A):
    """A: CxHxW attribution (signed) -> (pos, neg) pixel maps, the library's rule."""
    s = A.double().sum(0)
    return torch.clamp(s, min=0).float().numpy(), torch.clamp(-s, min=0).float().numpy()


def dmbp_maps(Ap, An):
    pos = torch.clamp(Ap.double(), min=0).sum(0).float().numpy()
    neg = torch.clamp(-An.double(), min=0).sum(0).float().numpy()
    return pos, neg


def gt_scores(pos, neg, truth):
    """(pos mass, neg mass, pos rank, neg rank) with groundtruth_crosscheck.scores."""
    pm, pr, _ = gc.scores(pos, truth, ev.TRUTH_FOR)
    nm, nr, _ = gc.scores(neg, truth, ev.TRUTH_AGAINST)
    return pm, nm, pr, nr


def mean_se(v):
    v = np.asarray([a for a in v if not math.isnan(a)], np.float64)
    if len(v) < 2:
        return float(v.mean()) if len(v) else math.nan, math.nan, len(v)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))), len(v)


def paired(a, b):
    d = [x - y for x, y in zip(a, b) if not (math.isnan(x) or math.isnan(y))]
    return mean_se(d)
