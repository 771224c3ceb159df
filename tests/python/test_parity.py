"""The package's results equal the program's .npy files bit for bit, for
every method on every shipped model, with default and non-default options
(the non-default ones also check that the binding's options structs have
the C layout: a misplaced field would change the maps)."""
import glob
import os

import numpy as np
import pytest

import dmbp
from conftest import MODELS, run_program

MODEL_FILES = sorted(glob.glob(os.path.join(MODELS, "*.onnx")))
EVIDENCE = [os.path.join(MODELS, "evidence", "test_0000%d.png" % i)
            for i in (5, 1)]
SAMPLES = [os.path.join(MODELS, "samples", n)
           for n in ("ankle_boot.png", "bag.png")]

# (method, Python keyword options, the program's flags). DMBP runs a few
# iterations: parity holds for any count, and make check stays short.
CASES = [
    ("saliency", {}, []),
    ("saliency", {"abs": True}, ["--abs"]),
    ("gxi", {}, []),
    ("ig", {"steps": 8, "baseline": "black", "ig_rule": "trapezoid"},
     ["--steps", "8", "--baseline", "black", "--ig-rule", "trapezoid"]),
    ("smoothgrad", {"samples": 4, "sigma": 0.2, "seed": 7, "of": "grad"},
     ["--samples", "4", "--sigma", "0.2", "--seed", "7", "--of", "grad"]),
    ("guided", {}, []),
    ("gradcam", {}, []),
    ("gradcam++", {}, []),
    ("scorecam", {}, []),
    ("occlusion", {"window": 4, "stride": 3, "baseline": "blur"},
     ["--window", "4", "--stride", "3", "--baseline", "blur"]),
    ("rise", {"samples": 64, "grid": 4, "keep": 0.4, "seed": 5},
     ["--samples", "64", "--grid", "4", "--keep", "0.4", "--seed", "5"]),
    ("dmbp", {"iters": 3}, ["--iters", "3"]),
    ("lrp", {}, []),
    ("lrp", {"composite": "epsilon-gamma-box", "epsilon": 0.01, "gamma": 0.5},
     ["--composite", "epsilon-gamma-box", "--epsilon", "0.01", "--gamma",
      "0.5"]),
]
# More DMBP settings, on one model: presets, smoothing, weights, targets.
DMBP_CASES = [
    ({"preset": "classic", "iters": 4, "lr": 0.1, "w_sign": 2.5},
     ["--preset", "classic", "--iters", "4", "--lr", "0.1", "--w-sign",
      "2.5"]),
    ({"preset": "classic", "iters": 2, "samples": 2, "sigma": 0.05,
      "seed": 3}, ["--preset", "classic", "--iters", "2", "--samples", "2",
                   "--sigma", "0.05", "--seed", "3"]),
    # From the default preset, samples selects the classic preset; the
    # options given before it in the call still win, as in the program.
    ({"iters": 3, "w_evidence": 0.5, "samples": 2, "sigma": 0.05,
      "seed": 3}, ["--iters", "3", "--w-evidence", "0.5", "--samples", "2",
                   "--sigma", "0.05", "--seed", "3"]),
    ({"iters": 2, "path_steps": 3, "mask_init": "constant",
      "init_logit": 1.5, "tol": 0.001},
     ["--iters", "2", "--path-steps", "3", "--mask-init", "constant",
      "--init-logit", "1.5", "--tol", "0.001"]),
]


def images_for(model):
    return EVIDENCE if "evidence" in os.path.basename(model) else SAMPLES


def program_npy(tmp_path, model, images, method, flags, target=None):
    prefix = tmp_path / method
    args = ["explain", model] + images + ["--method", method, "-q",
                                          "-o", prefix] + flags
    if target is not None:
        args += ["--target", str(target)]
    rc, out, err = run_program(*args)
    assert rc == 0, err
    stems = [os.path.splitext(os.path.basename(p))[0] for p in images]
    return [np.load("%s-%02d-%s.npy" % (prefix, i + 1, s))
            for i, s in enumerate(stems)]


def same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and \
        a.tobytes() == b.tobytes()


@pytest.mark.parametrize("model", MODEL_FILES,
                         ids=[os.path.basename(m) for m in MODEL_FILES])
@pytest.mark.parametrize("method,kw,flags", CASES,
                         ids=["%s%s" % (c[0], "+opts" if c[1] else "")
                              for c in CASES])
def test_parity(tmp_path, model, method, kw, flags):
    images = images_for(model)
    want = program_npy(tmp_path, model, images, method, flags)
    m = dmbp.Model(model)
    r = m.explain(images, method=method, **kw)
    assert r.n == len(images) and r.method == method
    for i, w in enumerate(want):
        assert same_bits(r.npy(i), w), "%s image %d differs" % (method, i)


@pytest.mark.parametrize("kw,flags", DMBP_CASES)
def test_parity_dmbp_options(tmp_path, kw, flags):
    model = os.path.join(MODELS, "evidence_cnn.onnx")
    want = program_npy(tmp_path, model, EVIDENCE, "dmbp", flags)
    r = dmbp.Model(model).explain(EVIDENCE, method="dmbp", **kw)
    for i, w in enumerate(want):
        assert same_bits(r.npy(i), w)


def test_parity_targets(tmp_path):
    """A label for all images, and the same as a per-image list."""
    model = os.path.join(MODELS, "evidence_cnn.onnx")
    want = program_npy(tmp_path, model, EVIDENCE, "gxi", [],
                       target="triangle")
    m = dmbp.Model(model)
    for target in ("triangle", 2, ["triangle", "Triangle"],
                   np.array([2, 2])):
        r = m.explain(EVIDENCE, method="gxi", target=target)
        assert list(r.targets) == [2, 2] and r.labels == ["triangle"] * 2
        for i, w in enumerate(want):
            assert same_bits(r.npy(i), w)


def test_arrays_in(tmp_path):
    """Model inputs given as an array (no files) give the same maps, and the
    result's arrays are views of the library's memory, not copies."""
    model = os.path.join(MODELS, "fmnist_vgg.onnx")
    m = dmbp.Model(model)
    x = np.stack([m.load_image(p)[0] for p in SAMPLES])
    assert x.dtype == np.float32 and x.shape == (2, 1, 28, 28)
    a = m.explain(SAMPLES, method="ig")
    b = m.explain(x, method="ig")
    assert same_bits(a["map"], b["map"])
    assert not b["map"].flags.owndata and not b["map"].flags.writeable
    assert same_bits(a.inputs, x)
