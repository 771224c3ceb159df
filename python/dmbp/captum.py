"""Captum-shaped attribution classes over libdmbp, so that code written for
Captum switches method in one line:

    from dmbp.captum import DMBP          # instead of captum.attr's
    attr = DMBP(model).attribute(inputs, target=3)   # a tensor like inputs

model: a torch.nn.Module (exported to ONNX in memory on the first call, and
again for another input size) or a dmbp.Model. inputs: a tensor N x C x H x
W (model inputs, already normalised). target: an int, or one per example
(a list or a 1-D tensor); None explains each example's top class. The
result is a float32 tensor of the inputs' shape on the inputs' device
(Grad-CAM's has one channel). Importing this module needs neither Captum
nor torch; attribute() needs torch.
"""
from ._model import Model

__all__ = ["DMBP", "Saliency", "InputXGradient", "IntegratedGradients",
           "NoiseTunnelSmoothGrad", "GuidedBackprop", "GradCam"]


class _Attribution:
    method = None
    # Captum's keyword names for the library's options.
    renames = {}

    def __init__(self, model, **options):
        self.forward_func = model
        self.options = options
        self._models = {}

    def _model(self, inputs):
        if isinstance(self.forward_func, Model):
            return self.forward_func
        key = tuple(inputs.shape[1:])
        if key not in self._models:
            self._models[key] = Model.from_torch(self.forward_func,
                                                 inputs[:1].detach().cpu())
        return self._models[key]

    def _map(self, r):
        return r["map"]

    def attribute(self, inputs, target=None, **options):
        import numpy as np
        import torch
        kw = dict(self.options)
        for k, v in options.items():
            kw[self.renames.get(k, k)] = v
        if isinstance(target, torch.Tensor):
            target = target.detach().cpu().reshape(-1).tolist()
        elif isinstance(target, (list, tuple)):
            target = [int(t) for t in target]
        x = inputs.detach().cpu().to(torch.float32).contiguous()
        r = self._model(x).explain(x.numpy(), method=self.method,
                                   target=target, **kw)
        a = np.array(self._map(r), dtype=np.float32)  # owned by torch
        return torch.from_numpy(a).to(inputs.device)


class DMBP(_Attribution):
    """DMBP's attribution A+ + A- (its positive and negative evidence; the
    nuisance N is left out: part="all" adds it, so that the sum over an
    image's pixels is F), or part="pos" / "neg" alone. Options: those of
    dmbp.Model.explain for DMBP (iters, preset, lr, ...)."""
    method = "dmbp"

    def __init__(self, model, part="evidence", **options):
        super().__init__(model, **options)
        if part not in ("evidence", "all", "pos", "neg"):
            raise ValueError("part must be evidence, all, pos or neg")
        self.part = part

    def _map(self, r):
        if self.part == "pos":
            return r["A+"]
        if self.part == "neg":
            return r["A-"]
        a = r["A+"] + r["A-"]
        return a + r["N"] if self.part == "all" else a


class Saliency(_Attribution):
    """Captum's Saliency (abs=True by default, as Captum's)."""
    method = "saliency"

    def attribute(self, inputs, target=None, abs=True, **options):
        if abs:
            options["abs"] = True
            r = super().attribute(inputs, target, **options)
            return r.expand_as(inputs) if r.shape != inputs.shape else r
        return super().attribute(inputs, target, **options)


class InputXGradient(_Attribution):
    method = "gxi"


class IntegratedGradients(_Attribution):
    """n_steps as Captum's; the library's baseline is zero (or
    baseline="black"/"blur"), its rule midpoint (ig_rule=...)."""
    method = "ig"
    renames = {"n_steps": "steps"}


class NoiseTunnelSmoothGrad(_Attribution):
    """SmoothGrad of gradient x input (of="grad" for plain gradients):
    nt_samples and stdevs (a fraction of the input's range) as Captum's
    NoiseTunnel names them."""
    method = "smoothgrad"
    renames = {"nt_samples": "samples", "stdevs": "sigma"}


class GuidedBackprop(_Attribution):
    method = "guided"


class GradCam(_Attribution):
    """Grad-CAM at the input's resolution, one channel (layer: a node or
    value name, default the last Conv)."""
    method = "gradcam"
