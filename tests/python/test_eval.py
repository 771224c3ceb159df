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
