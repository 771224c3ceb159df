"""dmbp.render draws what the program draws: the same PNG bytes as dmbp
explain's pictures with the same options, and the RGB array it returns is
that PNG's pixels."""
import os

import numpy as np
import pytest

import dmbp
from conftest import MODELS, SRCDIR, run_program

CNN = os.path.join(MODELS, "evidence_cnn.onnx")
SQ = os.path.join(MODELS, "evidence", "test_00005.png")
NET = os.path.join(SRCDIR, "tests", "ref", "data", "resnet50_small_op13.onnx")
PHOTO = os.path.join(SRCDIR, "docs", "images", "example-photo.jpg")
PARTS = [("overlay", ".png"), ("pos", "-pos.png"), ("neg", "-neg.png"),
         ("mappings", "-mappings.png")]


def explain(tmp_path, model, image, flags):
    rc, _, err = run_program("explain", model, image, "-q", "-o",
                             tmp_path / "prog", *flags)
    assert rc == 0, err
    return str(tmp_path / "prog")


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


@pytest.mark.parametrize("flags,kw", [
    ([], {}),
    (["--caption", "--colorbar"], {"caption_text": True, "colorbar": True}),
    (["--keep-colour", "--alpha", "0.4", "--colormap", "bwr",
      "--percentile", "98"],
     {"keep_colour": True, "alpha": 0.4, "colormap": "bwr",
      "percentile": 98}),
])
def test_dmbp_pictures(tmp_path, flags, kw):
    prog = explain(tmp_path, CNN, SQ, ["--iters", "2"] + flags)
    r = dmbp.Model(CNN).explain(SQ, iters=2)
    for part, suffix in PARTS:
        out = tmp_path / ("py" + suffix)
        rgb = dmbp.render(r, out, part=part, **kw)
        assert same_file(out, prog + suffix), part
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        # returned without a path: the same pixels
        assert np.array_equal(dmbp.render(r, part=part, **kw), rgb)


@pytest.mark.parametrize("method,flags,kw", [
    ("gxi", ["--caption"], {"caption_text": True}),
    ("gradcam", ["--colormap", "inferno", "--colorbar"],
     {"colormap": "inferno", "colorbar": True}),
])
def test_baselines_on_a_photo(tmp_path, method, flags, kw):
    pre = ["--resize", "72", "--crop", "64"]
    prog = explain(tmp_path, NET, PHOTO, ["--method", method] + pre + flags)
    r = dmbp.Model(NET).explain(PHOTO, method=method, resize=72, crop=64)
    out = tmp_path / "py.png"
    dmbp.render(r, out, **kw)
    assert same_file(out, prog + ".png")


def test_caption_text():
    r = dmbp.Model(CNN).explain(SQ, method="gxi", target="triangle")
    assert dmbp.caption(r).startswith("triangle (2) gxi sum ")


def test_render_errors(tmp_path):
    r = dmbp.Model(CNN).explain(SQ, method="gxi")
    with pytest.raises(dmbp.ArgumentError, match="DMBP's"):
        dmbp.render(r, part="pos")
    with pytest.raises(dmbp.ArgumentError) as e:
        dmbp.render(r, alpha=1.5)
    assert "alpha" in str(e.value)
    with pytest.raises(dmbp.ArgumentError):
        dmbp.render(r, colormap="reds")  # a signed map needs a diverging one
    with pytest.raises(dmbp.IOFailure):
        dmbp.render(r, tmp_path / "no" / "such" / "dir.png")
