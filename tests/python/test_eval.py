"""Model.eval gives the program's dmbp eval numbers: its CSV (printed with
9 significant digits) for the same images, method and options."""
import csv
import os

import pytest

import dmbp
from conftest import MODELS, run_program

VGG = os.path.join(MODELS, "fmnist_vgg.onnx")
IMAGES = [os.path.join(MODELS, "samples", n)
          for n in ("ankle_boot.png", "bag.png")]
COLUMNS = {"deletion_auc": "deletion", "insertion_auc": "insertion",
           "aopc": "aopc", "neg_rise_5": "neg_rise_5",
           "neg_rise_10": "neg_rise_10", "neg_rise_20": "neg_rise_20"}


@pytest.mark.parametrize("method,mkw,mflags", [
    ("gxi", {}, []),
    ("dmbp", {"iters": 2}, ["--iters", "2"]),
])
def test_eval_parity(tmp_path, method, mkw, mflags):
    lst = tmp_path / "list"
    lst.write_text("\n".join(IMAGES) + "\n")
    out = tmp_path / "e.csv"
    rc, _, err = run_program("eval", VGG, "--images", lst, "--methods",
                             method, "--randomization-images", "0",
                             "--steps", "10", "--regions", "5",
                             "--substrate", "blur", "-q", "--csv", out,
                             *mflags)
    assert rc == 0, err
    with open(out) as f:
        rows = list(csv.DictReader(f))
    m = dmbp.Model(VGG)
    r = m.explain(IMAGES, method=method, **mkw)
    e = m.eval(r, steps=10, regions=5, substrate="blur")
    assert e["deletion_curve"].shape == (2, 11)
    for i, row in enumerate(rows):
        assert int(row["target"]) == r.targets[i]
        for col, key in COLUMNS.items():
            assert row[col] == "%.9g" % e[key][i], (col, i)


def test_eval_errors():
    m = dmbp.Model(VGG)
    r = m.explain(IMAGES[0], method="gxi")
    with pytest.raises(dmbp.ArgumentError, match="substrate"):
        m.eval(r, substrate="noise")
    with pytest.raises(dmbp.ArgumentError, match="another model"):
        dmbp.Model(VGG).eval(r)


EVIDENCE = os.path.join(MODELS, "evidence_cnn.onnx")
EV_IMAGES = [os.path.join(MODELS, "evidence", "test_%05d.png" % i)
             for i in range(4)]
TRUTH_COLUMNS = ("pos_mass_accuracy", "neg_mass_accuracy",
                 "pos_rank_accuracy", "neg_rank_accuracy", "pos_pointing",
                 "neg_pointing")


def _cell(v):
    return "" if v != v else "%.9g" % v  # the CSV leaves NaN empty


@pytest.mark.parametrize("method,mkw,mflags", [
    ("gxi", {}, []),
    ("gradcam", {}, []),
    ("dmbp", {"iters": 2}, ["--iters", "2"]),
])
def test_eval_truth_parity(tmp_path, method, mkw, mflags):
    """truth=True gives the program's --ground-truth columns, digit for
    digit; masks given as arrays give the same numbers."""
    lst = tmp_path / "list"
    lst.write_text("\n".join(EV_IMAGES) + "\n")
    out = tmp_path / "e.csv"
    rc, _, err = run_program("eval", EVIDENCE, "--images", lst, "--methods",
                             method, "--randomization-images", "0",
                             "--ground-truth", "-q", "--csv", out, *mflags)
    assert rc == 0, err
    with open(out) as f:
        rows = list(csv.DictReader(f))
    m = dmbp.Model(EVIDENCE)
    r = m.explain(EV_IMAGES, method=method, **mkw)
    e = m.eval(r, truth=True)
    seen = 0
    for i, row in enumerate(rows):
        for col in TRUTH_COLUMNS:
            assert row[col] == _cell(e[col][i]), (col, i, row[col])
            seen += row[col] != ""
    assert seen >= 4 * (3 if method == "gradcam" else 6) // 2
    from PIL import Image
    import numpy as np
    masks = np.stack([np.asarray(Image.open(p[:-4] + ".truth.png"))
                      for p in EV_IMAGES])
    e2 = m.eval(r, truth=masks)
    for col in TRUTH_COLUMNS:
        np.testing.assert_array_equal(e2[col], e[col])


def test_eval_truth_errors(tmp_path):
    m = dmbp.Model(EVIDENCE)
    r = m.explain(EV_IMAGES[:2], method="gxi")
    with pytest.raises(dmbp.ArgumentError, match="1 truth file for 2 images"):
        m.eval(r, truth=[EV_IMAGES[0][:-4] + ".truth.png"])
    with pytest.raises(dmbp.ArgumentError, match="uint8"):
        import numpy as np
        m.eval(r, truth=np.zeros((2, 64, 64), np.float32))
    bad = tmp_path / "bad.truth.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(dmbp.DmbpError, match="bad.truth.png"):
        m.eval(r, truth=[bad, bad])
    x = r.inputs.copy()
    ra = m.explain(x, method="gxi")
    with pytest.raises(dmbp.ArgumentError, match="arrays"):
        m.eval(ra, truth=True)


def test_truth_constants_match_header():
    """The package's copies of dmbp_eval.h's ground-truth constants."""
    import re
    from conftest import SRCDIR
    from dmbp import _lib
    text = open(os.path.join(SRCDIR, "src", "dmbp_eval.h")).read()

    def define(name):
        return re.search(r"#define %s (\S+)" % name, text).group(1)
    assert int(define("DMBP_TRUTH_FOR")) == _lib.TRUTH_FOR
    assert int(define("DMBP_TRUTH_AGAINST")) == _lib.TRUTH_AGAINST
    assert int(define("DMBP_POINTING_TOLERANCE")) == _lib.POINTING_TOLERANCE
    assert define("DMBP_TRUTH_SUFFIX") == '"%s"' % _lib.TRUTH_SUFFIX
