#!/usr/bin/python3
"""Train the two Fashion-MNIST classifiers shipped with libdmbp.

Regenerate everything in models/ with (from the repository root):

    /usr/bin/python3 models/train.py

Inputs:  Debian's fashion-mnist data files in /usr/share/datasets/fashion-mnist/
Outputs: models/fmnist_vgg.onnx, models/fmnist_resnet.onnx,
         models/samples/<slug>.png (one per class), models/README.md

Everything is seeded and runs on the CPU with 2 threads.  Retraining on
another machine or another torch version may still give slightly different
weights (and accuracies), because floating-point reduction order differs.
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

DATA_DIR = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
MEAN = 0.2860
STD = 0.3530
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SLUGS = ["tshirt", "trouser", "pullover", "dress", "coat",
         "sandal", "shirt", "sneaker", "bag", "ankle_boot"]
SEED = 20240601


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
def read_idx(path):
    """Minimal reader for the (gzipped) IDX format used by (Fashion-)MNIST."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("%s: unsupported IDX header" % path)
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError("%s: size mismatch" % path)
    return arr.reshape(dims)


def load_split(name):
    x = read_idx(os.path.join(DATA_DIR, "%s-images-idx3-ubyte.gz" % name))
    y = read_idx(os.path.join(DATA_DIR, "%s-labels-idx1-ubyte.gz" % name))
    return x, y


def to_input(u8):
    """uint8 [N,28,28] -> normalised float32 tensor [N,1,28,28]."""
    x = torch.from_numpy(u8.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD


def augment(x, gen):
    """Light augmentation on a normalised batch: random shift of up to
    2 pixels (zero-intensity padding) and random horizontal flip."""
    b = x.shape[0]
    pad_val = (0.0 - MEAN) / STD
    xp = F.pad(x, (2, 2, 2, 2), value=pad_val)
    oy = torch.randint(0, 5, (b,), generator=gen)
    ox = torch.randint(0, 5, (b,), generator=gen)
    ar = torch.arange(28)
    rows = (oy[:, None] + ar[None, :])[:, :, None]          # b,28,1
    cols = (ox[:, None] + ar[None, :])[:, None, :]          # b,1,28
    out = xp[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = torch.rand(b, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------
class FmnistVGG(nn.Module):
    CFG = [32, 32, "M", 64, 64, "M", 128, "M"]

    def __init__(self):
        super().__init__()
        layers, c = [], 1
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 3 * 3, 256), nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(256, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + idt)


class FmnistResNet(nn.Module):
    def __init__(self, widths=(16, 32, 64), blocks=(2, 2, 2)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers, c = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(c, w, stride))
                c = w
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.layers(self.stem(x)))))


# --------------------------------------------------------------------------
# Training / evaluation
# --------------------------------------------------------------------------
@torch.no_grad()
def predict(model, x, bs=1000):
    model.eval()
    return torch.cat([model(x[i:i + bs]) for i in range(0, len(x), bs)])


def train(model, xtr, ytr, epochs, lr, seed, bs=128):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    steps = epochs * ((len(xtr) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.15)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot, n = 0.0, 0
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            xb = augment(xtr[idx], gen)
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        print("  epoch %d/%d  loss %.4f  (%.0f s)" % (ep + 1, epochs, tot / n,
                                                      time.time() - t0), flush=True)
    return time.time() - t0


# --------------------------------------------------------------------------
# Minimal ONNX evaluator (torch ops) to check the exported graph on its own,
# independently of the torch module it came from (onnxruntime is not
# available).  Supports exactly the op set these two models export to.
# --------------------------------------------------------------------------
def run_onnx(path, x):
    m = onnx.load(path)
    g = m.graph
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    env[g.input[0].name] = x

    def attrs(node):
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    for node in g.node:
        a = attrs(node)
        ins = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            pads = a.get("pads", [0, 0, 0, 0])
            assert pads[0] == pads[2] and pads[1] == pads[3]
            y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                         stride=a.get("strides", [1, 1]), padding=pads[:2],
                         dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        elif op == "Relu":
            y = F.relu(ins[0])
        elif op == "MaxPool":
            pads = a.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(ins[0], a["kernel_shape"], a.get("strides", [1, 1]),
                             pads[:2], ceil_mode=bool(a.get("ceil_mode", 0)))
        elif op == "GlobalAveragePool":
            y = ins[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.t()
            if a.get("transB", 0):
                B = B.t()
            y = a.get("alpha", 1.0) * A @ B
            if len(ins) > 2:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "Add":
            y = ins[0] + ins[1]
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = y
    return env[g.output[0].name]


def export(model, path, acc):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    m = onnx.load(path)
    meta = {
        "dmbp.resize": "28",
        "dmbp.crop": "28",
        "dmbp.mean": "%.4f" % MEAN,
        "dmbp.std": "%.4f" % STD,
        "dmbp.labels": "\n".join(LABELS),
        "dmbp.test_accuracy": acc,
    }
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, path)
    # Re-load and check: weights inside the file, metadata present.
    m2 = onnx.load(path, load_external_data=False)
    for t in m2.graph.initializer:
        assert t.data_location != onnx.TensorProto.EXTERNAL, "external data in " + path
    got = {p.key: p.value for p in m2.metadata_props}
    assert got == meta, got
    onnx.checker.check_model(path)
    return m2


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs-vgg", type=int, default=4)
    ap.add_argument("--epochs-resnet", type=int, default=4)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True, warn_only=True)

    xtr_u8, ytr_np = load_split("train")
    xte_u8, yte_np = load_split("t10k")
    print("train %s  test %s" % (xtr_u8.shape, xte_u8.shape))
    xtr, ytr = to_input(xtr_u8), torch.from_numpy(ytr_np.astype(np.int64))
    xte, yte = to_input(xte_u8), torch.from_numpy(yte_np.astype(np.int64))

    results = {}
    t_all = time.time()
    for name, ctor, epochs, lr, seed in [
            ("fmnist_vgg", FmnistVGG, args.epochs_vgg, 2e-3, SEED + 1),
            ("fmnist_resnet", FmnistResNet, args.epochs_resnet, 3e-3, SEED + 2)]:
        torch.manual_seed(seed)
        model = ctor()
        nparams = sum(p.numel() for p in model.parameters())
        print("%s: %d parameters, training %d epochs" % (name, nparams, epochs), flush=True)
        secs = train(model, xtr, ytr, epochs, lr, seed)
        logits = predict(model, xte)
        pred = logits.argmax(1)
        acc = (pred == yte).float().mean().item()
        acc_s = "%.4f" % acc
        print("%s: test accuracy %s (%d/%d), trained in %.0f s"
              % (name, acc_s, int((pred == yte).sum()), len(yte), secs), flush=True)
        if acc <= 0.90:
            sys.exit("%s: accuracy %.4f not above 0.90" % (name, acc))

        path = os.path.join(args.out, name + ".onnx")
        m = export(model, path, acc_s)
        size = os.path.getsize(path)
        if size >= 5 * 1024 * 1024:
            sys.exit("%s: %d bytes, too large" % (path, size))
        ops = sorted({n.op_type for n in m.graph.node})
        # Check the ONNX graph against torch on some test images (incl. a
        # batch, which exercises the dynamic batch axis).
        xs = xte[:16]
        with torch.no_grad():
            ref = model.eval()(xs)
            got = run_onnx(path, xs)
        err = (got - ref).abs().max().item() / ref.abs().max().item()
        print("%s: %d bytes, ops %s, onnx-vs-torch max rel err %.2e"
              % (path, size, ops, err), flush=True)
        if err > 1e-5:
            sys.exit("%s: ONNX graph does not match torch (%.3g)" % (path, err))
        results[name] = dict(acc=acc_s, correct=int((pred == yte).sum()), params=nparams,
                             size=size, secs=secs, epochs=epochs, ops=ops, pred=pred.numpy())
    print("total training+export time %.0f s" % (time.time() - t_all))

    # Sample images: first test image of each class that both models get right.
    sdir = os.path.join(args.out, "samples")
    os.makedirs(sdir, exist_ok=True)
    both = (results["fmnist_vgg"]["pred"] == yte_np) & (results["fmnist_resnet"]["pred"] == yte_np)
    samples = []
    for c, slug in enumerate(SLUGS):
        idx = int(np.nonzero(both & (yte_np == c))[0][0])
        Image.fromarray(xte_u8[idx], mode="L").save(os.path.join(sdir, slug + ".png"))
        samples.append((slug, LABELS[c], idx))
        print("sample %-10s = test image #%d" % (slug, idx))

    write_readme(args.out, results, samples)


def write_readme(out, res, samples):
    v, r = res["fmnist_vgg"], res["fmnist_resnet"]
    rows = "\n".join("| `samples/%s.png` | %d | %s | %d |" % (s, i, l, c)
                     for c, (s, l, i) in enumerate(samples))
    text = f"""# Shipped models

Two small convolutional classifiers for
[Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist) (28x28
grayscale, 10 classes), exported to ONNX so that libdmbp and its examples and
tests have real, trained models to compute attribution maps on.

| file | architecture | parameters | test accuracy | size (bytes) | epochs |
| --- | --- | --- | --- | --- | --- |
| `fmnist_vgg.onnx` | VGG-style: conv3x3(32)-ReLU x2, maxpool, conv3x3(64)-ReLU x2, maxpool, conv3x3(128)-ReLU, maxpool, Flatten, Linear(1152,256)-ReLU-Dropout(0.3)-Linear(256,10); no BatchNorm | {v['params']} | {v['acc']} ({v['correct']}/10000) | {v['size']} | {v['epochs']} |
| `fmnist_resnet.onnx` | ResNet-style: stem conv3x3(16)+BN+ReLU, 3 stages of 2 basic blocks (widths 16, 32, 64; first block of stages 2 and 3 has stride 2 and a 1x1 conv+BN downsample shortcut, the others identity shortcuts), global average pool, Flatten, Linear(64,10) | {r['params']} | {r['acc']} ({r['correct']}/10000) | {r['size']} | {r['epochs']} |

Test accuracy is top-1 on the 10,000 Fashion-MNIST test images.

## Graphs

- ONNX opset 13, produced by `torch.onnx.export` in eval mode with
  `do_constant_folding=True`; weights are stored inside the file.
- Input `input`: float32 `[batch, 1, 28, 28]`, dynamic batch axis.
- Output `logits`: float32 `[batch, 10]`, raw logits (no Softmax in the graph).
- Operators: VGG uses {', '.join(v['ops'])};
  ResNet uses {', '.join(r['ops'])} (the exporter folds
  each eval-mode BatchNorm into the preceding Conv, so no BatchNormalization
  node remains).
- Preprocessing: grayscale pixel / 255, then `(v - 0.2860) / 0.3530`.

## Metadata (`metadata_props`)

| key | value |
| --- | --- |
| `dmbp.resize` | `28` |
| `dmbp.crop` | `28` |
| `dmbp.mean` | `0.2860` |
| `dmbp.std` | `0.3530` |
| `dmbp.labels` | the 10 class names joined by `\\n`: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot |
| `dmbp.test_accuracy` | measured test accuracy as a fraction, 4 decimals (e.g. `{v['acc']}`) |

## Sample images

`samples/` holds one 8-bit grayscale 28x28 PNG per class: the first image of
that class in the Fashion-MNIST test set that both models classify correctly.

| file | test-set index | label | class |
| --- | --- | --- | --- |
{rows}

## Regenerating

From the repository root, with Debian's Python (it has torch, torchvision,
onnx, numpy and PIL) and the Debian package that ships the Fashion-MNIST data
files in `/usr/share/datasets/fashion-mnist/`:

    /usr/bin/python3 models/train.py

It takes about {round((v['secs'] + r['secs']) / 60)} minutes on 2 CPU cores
(training time measured: {v['secs']:.0f} s VGG, {r['secs']:.0f} s ResNet), needs
no network, and rewrites the two `.onnx` files, `samples/*.png` and this
README. The script is fully seeded and deterministic on a given machine and
torch version (CPU, 2 threads); retraining on another machine or torch version
may give slightly different weights and accuracies, and therefore possibly
different sample images. It also checks each exported graph with
`onnx.checker` and runs it with a small built-in ONNX interpreter against the
torch model on 16 test images.

Note: `tests/ref/data/fmnist_*_samples.*` hold reference logits for these exact
files; regenerate them with `/usr/bin/python3 tests/ref/make_forward_fixtures.py`
after retraining.
"""
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
