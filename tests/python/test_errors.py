"""Failures are Python exceptions carrying the library's message, its
status (dmbp_status) and the program's exit status for the same failure."""
import os
import threading

import numpy as np
import pytest

import dmbp
from conftest import MODELS, SRCDIR, run_program

CNN = os.path.join(MODELS, "evidence_cnn.onnx")
IMG = os.path.join(MODELS, "evidence", "test_00005.png")
BAD_PNG = os.path.join(SRCDIR, "tests", "ref", "data", "img", "bad_text.png")


def program_exit(*args):
    rc, _, err = run_program(*args)
    return rc, err.strip()


def test_missing_model(tmp_path):
    path = str(tmp_path / "nope.onnx")
    with pytest.raises(dmbp.IOFailure) as e:
        dmbp.Model(path)
    assert path in str(e.value)
    assert e.value.status_name == "DMBP_ERR_IO" and e.value.status == 2
    assert isinstance(e.value, OSError) and isinstance(e.value, dmbp.DmbpError)
    rc, err = program_exit("info", path)
    assert rc == e.value.exit_status == 3
    assert err == "dmbp: " + str(e.value)


def test_corrupt_model(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x08\x07 this is not protobuf \xff\xff\xff")
    with pytest.raises(dmbp.FormatError) as e:
        dmbp.Model(str(path))
    assert e.value.status_name == "DMBP_ERR_FORMAT"
    rc, err = program_exit("info", str(path))
    assert rc == e.value.exit_status == 4
    assert err == "dmbp: " + str(e.value)
    with pytest.raises(dmbp.FormatError) as e2:
        dmbp.Model.from_bytes(path.read_bytes(), name="junk")
    assert "junk" in str(e2.value)


def test_bad_image():
    m = dmbp.Model(CNN)
    with pytest.raises(dmbp.FormatError) as e:
        m.explain(BAD_PNG, method="gxi")
    assert "bad_text.png" in str(e.value)
    rc, err = program_exit("explain", CNN, BAD_PNG, "--method", "gxi",
                           "-o", os.devnull + "x")
    assert rc == e.value.exit_status
    assert str(e.value) in err


def test_argument_errors():
    m = dmbp.Model(CNN)
    with pytest.raises(dmbp.ArgumentError) as e:
        m.explain(IMG, method="lime")
    assert "lime" in str(e.value) and e.value.exit_status == 2
    assert isinstance(e.value, ValueError)
    with pytest.raises(dmbp.ArgumentError, match="did you mean 'steps'"):
        m.explain(IMG, method="ig", stpes=4)
    with pytest.raises(dmbp.ArgumentError, match="for ig"):
        m.explain(IMG, method="gxi", steps=4)
    with pytest.raises(dmbp.ArgumentError, match="out of range"):
        m.explain(IMG, method="gxi", target=4)
    with pytest.raises(dmbp.ArgumentError, match="did you mean 'square'"):
        m.explain(IMG, method="gxi", target="sqare")
    with pytest.raises(dmbp.ArgumentError, match="2 targets for 1 images"):
        m.explain(IMG, method="gxi", target=[0, 1])
    with pytest.raises(dmbp.ArgumentError, match="preset"):
        m.explain(IMG, method="dmbp", preset="fancy")


def test_shape_and_nonfinite():
    m = dmbp.Model(CNN)
    with pytest.raises(dmbp.ShapeError) as e:
        m.explain(np.zeros((1, 1, 64, 64), np.float32), method="gxi")
    assert e.value.exit_status == 6
    x = np.zeros((1, 3, 64, 64), np.float32)
    x[0, 1, 2, 3] = np.nan
    with pytest.raises(dmbp.NonFiniteError) as e:
        m.explain(x, method="gxi")
    assert e.value.exit_status == 7


def test_message_per_thread():
    """Each thread raises its own failure's message (the library keeps the
    last error per thread)."""
    out = {}

    def fail(i):
        try:
            dmbp.Model("/nonexistent/%d.onnx" % i)
        except dmbp.DmbpError as e:
            out[i] = str(e)
    threads = [threading.Thread(target=fail, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert "/nonexistent/%d.onnx" % i in out[i]


def test_closed_model():
    m = dmbp.Model(CNN)
    m.close()
    with pytest.raises(dmbp.ArgumentError, match="closed"):
        m.explain(IMG, method="gxi")
