"""No leak over 1,000 calls; results outlive nothing they need; the GIL is
released while the library computes."""
import gc
import os
import threading
import time

import numpy as np

import dmbp
from conftest import MODELS

CNN = os.path.join(MODELS, "evidence_cnn.onnx")
IMG = os.path.join(MODELS, "evidence", "test_00005.png")
# Resident memory may grow by this much over the 1,000 calls after the
# warm-up (allocator slack): far below what leaking each call's result
# would take (3 arrays of 4 x 3 x 64 x 64 floats = 590 kB per call, 590 MB
# in all) or its four loaded images and inputs (200 kB per call).
RSS_SLACK = 16 << 20
CALLS = 1000
WARMUP = 50


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_no_leak_over_1000_calls():
    """Each call loads the 4 images (files through the library) and
    explains them; the library computes on one thread (the cost is the
    calls, not the arithmetic)."""
    m = dmbp.Model(CNN)
    images = [IMG] * 4
    threads = dmbp.get_num_threads()
    dmbp.set_num_threads(1)

    def call():
        r = m.explain(images, method="saliency", target=1)
        assert r["map"].shape == (4, 3, 64, 64)
    try:
        for _ in range(WARMUP):
            call()
        gc.collect()
        before = rss()
        for _ in range(CALLS):
            call()
        gc.collect()
        grown = rss() - before
    finally:
        dmbp.set_num_threads(threads)
    assert grown < RSS_SLACK, "RSS grew by %d bytes over %d calls" % (
        grown, CALLS)


def test_views_keep_the_result_alive():
    m = dmbp.Model(CNN)
    r = m.explain(IMG, method="gxi")
    a = r["map"]
    copy = np.array(a)
    del r, m
    gc.collect()
    [dmbp.Model(CNN).explain(IMG, method="saliency") for _ in range(3)]
    assert np.array_equal(a, copy)


def test_gil_released():
    """Another Python thread runs while explain() computes."""
    m = dmbp.Model(os.path.join(MODELS, "evidence_resnet.onnx"))
    done = threading.Event()
    ticks = []

    def work():
        m.explain(IMG, method="dmbp", iters=4)
        done.set()
    t = threading.Thread(target=work)
    start = time.monotonic()
    t.start()
    while not done.is_set():
        ticks.append(time.monotonic())
        time.sleep(0.001)
    t.join()
    elapsed = time.monotonic() - start
    # With the GIL held for the whole call the loop above could not run
    # until it returned: a handful of ticks at most.
    assert elapsed > 0.05 and len(ticks) > 20, (elapsed, len(ticks))
