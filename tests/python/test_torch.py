"""torch modules explained without a file: exported to ONNX in memory
(Model.from_torch), checked against torch's own forward pass and autograd
(independent of the library), and the Captum-shaped adapter."""
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import dmbp  # noqa: E402
import dmbp.captum  # noqa: E402


def tiny_cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(8, 5)).eval()


def inputs(n=2, side=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, side, side, generator=g)


def test_from_torch_no_file(tmp_path, monkeypatch):
    """No file is written: the export goes to memory (run in an empty,
    read-only working directory)."""
    net, x = tiny_cnn(), inputs()
    os.chmod(tmp_path, 0o500)
    monkeypatch.chdir(tmp_path)
    try:
        m = dmbp.Model.from_torch(net, x)
        r = m.explain(x, method="gxi", target=[1, 4])
    finally:
        os.chmod(tmp_path, 0o700)
    assert os.listdir(tmp_path) == []
    assert m.path is None and m.num_classes == 5
    with torch.no_grad():
        logits = net(x).numpy()
    want = logits[[0, 1], [1, 4]]
    assert np.allclose(r.logits, want, rtol=1e-4, atol=1e-5)
    # gradient x input from autograd, torch's, not the library's
    xg = x.clone().requires_grad_(True)
    out = net(xg)
    out[0, 1].backward(retain_graph=True)
    g0 = xg.grad.clone()
    xg.grad.zero_()
    out[1, 4].backward()
    g1 = xg.grad.clone()
    gxi = torch.stack([g0[0] * x[0], g1[1] * x[1]]).numpy()
    assert np.allclose(r["map"], gxi, rtol=1e-3, atol=1e-5)


def test_from_torch_dmbp_and_labels():
    net, x = tiny_cnn(), inputs()
    labels = ["a", "b", "c", "d", "e"]
    m = dmbp.Model.from_torch(net, x, labels=labels)
    assert m.labels == labels
    r = m.explain(x, method="dmbp", target="c", preset="classic", iters=5)
    assert r.labels == ["c", "c"] and list(r.targets) == [2, 2]
    for key in ("W+", "W-", "A+", "A-", "N"):
        assert r[key].shape == (2, 3, 16, 16)
    # DMBP's decomposition: F = F+ + F- + Fn per image
    total = r["F+"] + r["F-"] + r["Fn"]
    assert np.allclose(r["F"], total, rtol=1e-3, atol=1e-4)
    # A+ sums to F+ (the attributions carry the decomposition)
    assert np.allclose(r["A+"].sum(axis=(1, 2, 3)), r["F+"], rtol=1e-3,
                       atol=1e-4)


def resnet18_case(side, **options):
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    net = tv.models.resnet18(weights=None, num_classes=10).eval()
    x = inputs(1, side, seed=2)
    m = dmbp.Model.from_torch(net, x)
    r = m.explain(x, method="dmbp", **options)   # one call
    with torch.no_grad():
        logits = net(x)[0].numpy()
    assert r.targets[0] == int(np.argmax(logits))
    assert np.allclose(r.logits[0], logits.max(), rtol=1e-3, atol=1e-4)
    assert r["A+"].shape == (1, 3, side, side)
    assert np.isfinite(r["A+"]).all() and np.isfinite(r["A-"]).all()


def test_resnet18_small():
    """torchvision's resnet18 (seeded random weights) at 32 x 32, DMBP's
    default preset cut to 3 iterations (make check's budget)."""
    resnet18_case(32, iters=3)


@pytest.mark.slow
def test_resnet18_224():
    """At ImageNet's 224 x 224 with the default DMBP (minutes on two
    busy cores)."""
    resnet18_case(224)


@pytest.mark.parametrize("cls,method,kw", [
    (dmbp.captum.InputXGradient, "gxi", {}),
    (dmbp.captum.IntegratedGradients, "ig", {"n_steps": 8}),
    (dmbp.captum.GradCam, "gradcam", {}),
    (dmbp.captum.DMBP, "dmbp", {"iters": 3}),
])
def test_captum_adapter(cls, method, kw):
    net, x = tiny_cnn(), inputs()
    a = cls(net).attribute(x, target=torch.tensor([0, 3]), **kw)
    assert isinstance(a, torch.Tensor) and a.dtype == torch.float32
    m = dmbp.Model.from_torch(net, x)
    lib_kw = {"steps": 8} if method == "ig" else \
        {k: v for k, v in kw.items()}
    r = m.explain(x.numpy(), method=method, target=[0, 3], **lib_kw)
    want = r["A+"] + r["A-"] if method == "dmbp" else r["map"]
    assert a.shape == want.shape
    assert np.array_equal(a.numpy(), want)


def test_captum_import_safe_without_captum():
    """dmbp.captum imports neither captum nor needs it."""
    import subprocess
    import sys
    code = ("import sys; sys.modules['captum'] = None\n"
            "import dmbp.captum\n"
            "assert 'captum' not in [m for m in sys.modules "
            "if sys.modules[m] is not None]\n")
    subprocess.run([sys.executable, "-c", code], check=True)
