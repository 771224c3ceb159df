#!/usr/bin/python3
"""A 16-bit ground truth for tests/cli_sets.sh (issue #21): the evidence
sample test_00000's truth (values 0, 1, 2) stored as a 16-bit gray PNG,
so the samples are 1 and 2 of 65535, which dmbp refuses naming the value
as the file has it.

    /usr/bin/python3 tests/ref/make_truth16.py"""
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
src = os.path.join(TOP, "models", "evidence", "test_00000.truth.png")
out = os.path.join(HERE, "data", "truth16", "test_00000.truth.png")
t = np.asarray(Image.open(src), dtype=np.uint16)
assert set(np.unique(t)) <= {0, 1, 2}
Image.fromarray(t, mode="I;16").save(out)
back = np.asarray(Image.open(out))
assert back.dtype == np.uint16 or back.max() <= 2
print(out, t.shape, "values", sorted(set(np.unique(t).tolist())))
