#!/usr/bin/python3
"""Train the second and third ground-truth models of the evidence benchmark
(issue #23 item 2): plain CNNs trained with cross-entropy ONLY, no logit
regression, no per-object head (unlike models/evidence_cnn.onnx).

    /usr/bin/python3 bench/dmbp_study/train_plain.py --arch vgg --epochs E
    /usr/bin/python3 bench/dmbp_study/train_plain.py --arch resnet --epochs E

Data: models/make_evidence.py, 16000 train images, the first 4000 test
images for the accuracy, the first 500 for the intervention test (both
reused from models/train_evidence.py).  Adam one-cycle, peak lr 4e-3,
batches of 64, horizontal flips, weight decay 1e-5, seed 20261130, one
torch thread.

Architectures (BN folded into the convolutions at export):
  vgg    conv3x3(16)@64 -> maxpool -> conv3x3(32)@32 -> maxpool ->
         conv3x3(64)@16 -> maxpool -> conv3x3(64)@8 x2 -> GAP -> Linear(64, 4)
  resnet the backbone of models/evidence_cnn.onnx (stem 3x3/2 (24), basic
         blocks 48/2, 64/2, 64) -> GAP -> Linear(64, 4)
Output: models/evidence_<arch>.onnx (opset 13, same metadata as the shipped
evidence model) and a JSON of the numbers next to it in /tmp.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models"))
import make_evidence as ev  # noqa: E402
import train_evidence as te  # noqa: E402

SEED = 20261130


def cbr(cin, cout):
    return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class VGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*cbr(3, 16), nn.MaxPool2d(2),
                                      *cbr(16, 32), nn.MaxPool2d(2),
                                      *cbr(32, 64), nn.MaxPool2d(2),
                                      *cbr(64, 64), *cbr(64, 64))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, ev.K)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.features(x))))


class ResNet(nn.Module):
    def __init__(self, widths=te.WIDTHS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.layers = nn.Sequential(te.Block(widths[0], widths[1], 2),
                                    te.Block(widths[1], widths[2], 2),
                                    te.Block(widths[2], widths[3], 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(widths[3], ev.K)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.layers(self.stem(x)))))


def train(model, x, y, mean, std, epochs, lr, bs):
    gen = torch.Generator().manual_seed(SEED + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    steps = epochs * ((len(x) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    yt = torch.from_numpy(y)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        tot = 0.0
        correct = n = 0
        for i in range(0, len(x), bs):
            idx = perm[i:i + bs]
            xb = te.to_input(x[idx.numpy()], mean, std)
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb[flip] = xb[flip].flip(-1)
            out = model(xb)
            loss = F.cross_entropy(out, yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            correct += int((out.argmax(1) == yt[idx]).sum())
            n += len(idx)
        print("  epoch %d/%d  ce %.4f  train acc %.4f  (%.0f s)"
              % (ep + 1, epochs, tot / n, correct / n, time.time() - t0), flush=True)
    return time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["vgg", "resnet"], required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--n-train", type=int, default=16000)
    ap.add_argument("--n-test", type=int, default=4000)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--cache", default="/tmp")
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    xtr, ytr, _ = te.generate("train", args.n_train, args.cache)
    xte, yte, _ = te.generate("test", args.n_test, args.cache)
    # the shipped evidence model's normalisation (same training images)
    mean = torch.tensor(np.round(xtr.reshape(-1, 3).mean(0) / 255.0, 4), dtype=torch.float32)
    std = torch.tensor(np.round(xtr[:2000].reshape(-1, 3).std(0) / 255.0, 4), dtype=torch.float32)
    model = VGG() if args.arch == "vgg" else ResNet()
    nparams = sum(p.numel() for p in model.parameters())
    print("%s: %d parameters" % (args.arch, nparams), flush=True)
    secs = train(model, xtr, ytr, mean, std, args.epochs, args.lr, args.batch)
    model.eval()
    lg = te.logits_of(model, xte, mean, std)
    acc = float((lg.argmax(1).numpy() == yte).mean())
    res, med = te.intervention(model, mean, std, te.N_INTERVENTION)
    print("test accuracy %.4f; intervention %s median %s" % (acc, res, med), flush=True)
    path = os.path.join(args.out, "evidence_%s.onnx" % args.arch)
    m, meta = te.export(model, path, mean, std, "%.4f" % acc)
    ops = sorted({n.op_type for n in m.graph.node})
    samples = [[float(v) for v in lg[i]] for i in range(16)]
    info = dict(arch=args.arch, params=nparams, epochs=args.epochs, secs=secs, acc=acc,
                n_test=len(yte), intervention=res, median=med, ops=ops,
                size=os.path.getsize(path), sample_logits=samples, argv=sys.argv[1:])
    with open(os.path.join(args.cache, "evidence_%s.json" % args.arch), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps({k: v for k, v in info.items() if k != "sample_logits"}), flush=True)


if __name__ == "__main__":
    main()
