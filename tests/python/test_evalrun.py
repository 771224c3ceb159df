"""Model.evaluate is the program's dmbp eval: the same CSV, byte for byte,
for the same images, methods and options (dmbp_eval_run underneath)."""
import json
import os

import numpy as np
import pytest

import dmbp
from conftest import MODELS, run_program

EVIDENCE = os.path.join(MODELS, "evidence_cnn.onnx")
IMAGES = [os.path.join(MODELS, "evidence", "test_%05d.png" % i)
          for i in range(4)]


def test_evaluate_csv_is_the_programs(tmp_path):
    lst = tmp_path / "list"
    lst.write_text("\n".join(IMAGES) + "\n")
    out = tmp_path / "e.csv"
    rc, _, err = run_program("eval", EVIDENCE, "--images", lst, "--methods",
                             "gxi,gradcam,dmbp", "--iters", "2",
                             "--ground-truth", "--randomization-images", "2",
                             "--steps", "10", "--substrate", "blur",
                             "--against", "gxi", "-q", "--csv", out)
    assert rc == 0, err
    m = dmbp.Model(EVIDENCE)
    e = m.evaluate(IMAGES, methods=["gxi", "gradcam", ("dmbp", {"iters": 2})],
                   truth=True, randomization_images=2, steps=10,
                   substrate="blur", against="gxi")
    with open(out, newline="") as f:
        assert e.report("csv") == f.read()
    assert e.methods == ["gxi", "gradcam", "dmbp"]
    assert np.isnan(e.values["gradcam"]["neg_mass_accuracy"]).all()
    assert np.isfinite(e.values["dmbp"]["pos_mass_accuracy"]).all()
    # The per-image numbers are the ones Model.eval gives for one result.
    r = m.explain(IMAGES, method="dmbp", iters=2)
    one = m.eval(r, truth=True, steps=10, substrate="blur")
    np.testing.assert_array_equal(e.values["dmbp"]["pos_mass_accuracy"],
                                  one["pos_mass_accuracy"])
    np.testing.assert_array_equal(e.values["dmbp"]["deletion_auc"],
                                  one["deletion"])
    j = json.loads(e.report("json"))
    assert j and e.report("svg").lstrip().startswith("<")
    p = tmp_path / "r.md"
    e.write(p, "markdown")
    assert "gxi" in p.read_text()


def test_evaluate_errors():
    m = dmbp.Model(EVIDENCE)
    with pytest.raises(dmbp.ArgumentError, match="method options go with"):
        m.evaluate(IMAGES[:1], methods=["ig"], stepz=3)
    with pytest.raises(dmbp.ArgumentError, match="not one of the methods"):
        m.evaluate(IMAGES[:1], methods=["gxi"], against="ig")
    with pytest.raises(dmbp.ArgumentError, match="true_classes"):
        m.evaluate(IMAGES[:1], methods=["gxi"], target="true")
    with pytest.raises(dmbp.ArgumentError, match="report format"):
        m.evaluate(IMAGES[:1], methods=["gxi"],
                   randomization_images=0).report("xml")


def test_evaluate_true_targets():
    m = dmbp.Model(EVIDENCE)
    e = m.evaluate(IMAGES[:2], methods=["gxi"], target="true",
                   true_classes=[1, 2], randomization_images=0)
    assert e.targets["gxi"].tolist() == [1, 2]


def test_methods_lists_every_method():
    assert len(dmbp.METHODS) == 12 and "lrp" in dmbp.METHODS
