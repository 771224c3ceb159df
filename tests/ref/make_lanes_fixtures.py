"""Models that write the batch into their graph, and PyTorch's attributions
on them, for tests/cli_lanes.sh (issue #20: lanes on such models).

Run with Debian's python3 (python3-torch, python3-onnx, python3-pil):
    /usr/bin/python3 tests/ref/make_lanes_fixtures.py
Writes tests/ref/data/lanes/:
  shuffle_static.onnx   Conv 3->8 3x3, ReLU, ShuffleNet's channel shuffle
                        (x.view(batch, 2, 4, h, w).transpose(1, 2)
                        .reshape(batch, 8, h, w), batch = x.size(0)),
                        MaxPool 2, Conv 8->8 3x3, ReLU, global average,
                        Linear 5; exported as torch.onnx.export does by
                        default: the batch is the constant 1 in both
                        Reshape targets
  shuffle_dynamic.onnx  the same model exported with dynamic_axes (the
                        targets are computed from Shape)
  tokencat_static.onnx  Conv 3->8, ReLU, concatenation on channels with a
                        learned [1, 4, 32, 32] tensor (a constant of batch 1:
                        it cannot take several lanes, so dmbp runs lanes one
                        at a time), Conv 12->8, ReLU, global average,
                        Linear 5
  tokencat_equiv.onnx   the same function without the constant in the
                        concatenation: Conv 8->8 on the first 8 channels
                        plus the constant contribution of the 4 learned
                        channels through the Conv (added as a [1, 8, 32,
                        32] tensor), which broadcasts over lanes
  input.png             a seeded random 32x32 RGB image
  <model>.input.npy     (shuffle_static, tokencat_static) that image
                        preprocessed, 1x3x32x32, for tests/test_reverse
  <model>.target        PyTorch's top class for input.png
  <model>.gxi.npy       gradient x input (autograd, 3x32x32)
  <model>.ig.npy        integrated gradients, zero baseline, midpoint rule,
                        8 steps: x * mean_k grad f_t((k + 0.5) / 8 x)
  <model>.smoothgrad.npy  mean over 4 samples of x_k * grad f_t(x_k),
                        x_k = x + eps_k, eps from dmbp's generator
                        (src/methods/common.c: splitmix64 from seed 0,
                        Box-Muller, sd = 0.15 (max x - min x))
The input is ImageNet-normalised as dmbp does (ToTensor + Normalize).
"""
import os
import warnings

import numpy as np
import torch
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "lanes")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
SIZE = 32
STEPS = 8
SAMPLES = 4
SIGMA = 0.15


class Shuffle(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):
        t = torch.relu(self.c1(x))
        b, c, h, w = t.size()
        t = t.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)
        t = torch.nn.functional.max_pool2d(t, 2)
        t = torch.relu(self.c2(t)).mean(dim=(2, 3))
        return self.fc(t)


class TokenCat(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.extra = torch.nn.Parameter(torch.randn(1, 4, SIZE, SIZE))
        self.c2 = torch.nn.Conv2d(12, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):
        t = torch.relu(self.c1(x))
        # Traced at batch 1: the learned tensor itself enters the Concat
        # (PyTorch's own references below run several images at once).
        e = self.extra if t.shape[0] == 1 else self.extra.expand(t.shape[0], -1, -1, -1)
        t = torch.cat([t, e], 1)
        t = torch.relu(self.c2(t)).mean(dim=(2, 3))
        return self.fc(t)


class TokenEquiv(torch.nn.Module):
    """TokenCat's function with the constant channels' contribution added."""
    def __init__(self, tc):
        super().__init__()
        self.c1 = tc.c1
        self.c2 = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        with torch.no_grad():
            self.c2.weight.copy_(tc.c2.weight[:, :8])
            extra = torch.nn.functional.conv2d(tc.extra, tc.c2.weight[:, 8:], tc.c2.bias,
                                               padding=1)
        self.register_buffer("extra", extra)
        self.fc = tc.fc

    def forward(self, x):
        t = torch.relu(self.c1(x))
        t = torch.relu(self.c2(t) + self.extra).mean(dim=(2, 3))
        return self.fc(t)


def dmbp_normals(seed, count):
    """dmbp's generator (src/methods/common.c), as tests/ref/torchvision_parity.py."""
    pairs = (count + 1) // 2
    with np.errstate(over="ignore"):
        k = np.arange(1, 2 * pairs + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = ((z >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * (1.0 / 9007199254740992.0)
    rad = np.sqrt(-2.0 * np.log(u[0::2]))
    out = np.empty(2 * pairs)
    out[0::2] = rad * np.cos(2 * np.pi * u[1::2])
    out[1::2] = rad * np.sin(2 * np.pi * u[1::2])
    return out[:count]


def grads(model, xs, target):
    xg = xs.clone().requires_grad_(True)
    g, = torch.autograd.grad(model(xg)[:, target].sum(), xg)
    return g


def export(model, name, x, dynamic):
    kw = {"dynamic_axes": {"x": {0: "batch"}, "y": {0: "batch"}}} if dynamic else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, os.path.join(OUT, name + ".onnx"), opset_version=13,
                          input_names=["x"], output_names=["y"], **kw)


def references(model, name, x):
    with torch.no_grad():
        target = int(model(x)[0].argmax())
    with open(os.path.join(OUT, name + ".target"), "w") as f:
        f.write("%d\n" % target)
    maps = {"gxi": (grads(model, x, target) * x)[0]}
    alphas = torch.tensor([(k + 0.5) / STEPS for k in range(STEPS)]).view(STEPS, 1, 1, 1)
    maps["ig"] = x[0] * grads(model, alphas * x, target).sum(0) / STEPS
    xf = x[0].numpy().ravel()
    sd = float(np.float32(SIGMA)) * (float(xf.max()) - float(xf.min()))
    eps = (dmbp_normals(0, xf.size * SAMPLES) * sd).astype(np.float32)
    xs = torch.from_numpy((eps.reshape(SAMPLES, -1) + xf).reshape(SAMPLES, *x.shape[1:]))
    maps["smoothgrad"] = (grads(model, xs, target) * xs).mean(0)
    for k, v in maps.items():
        np.save(os.path.join(OUT, "%s.%s.npy" % (name, k)), v.detach().numpy().astype(np.float32))
    return target


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20)
    rng = np.random.default_rng(20)
    img = rng.integers(0, 256, size=(SIZE, SIZE, 3), dtype=np.uint8)
    Image.fromarray(img, mode="RGB").save(os.path.join(OUT, "input.png"))
    x = torch.from_numpy(((img.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1).copy())[None]
    shuffle = Shuffle().eval()
    tc = TokenCat().eval()
    eq = TokenEquiv(tc).eval()
    with torch.no_grad():
        assert torch.allclose(tc(x), eq(x), rtol=0, atol=1e-5)
    export(shuffle, "shuffle_static", x, False)
    export(shuffle, "shuffle_dynamic", x, True)
    export(tc, "tokencat_static", x, False)
    export(eq, "tokencat_equiv", x, True)
    for name in ("shuffle_static", "tokencat_static"):
        np.save(os.path.join(OUT, name + ".input.npy"), x.numpy())
    for name, model in (("shuffle_static", shuffle), ("shuffle_dynamic", shuffle),
                        ("tokencat_static", tc), ("tokencat_equiv", eq)):
        print(name, "target", references(model, name, x))


if __name__ == "__main__":
    main()
