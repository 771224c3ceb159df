"""torch helpers: a torch.nn.Module exported to ONNX in memory."""
import io


def export(module, example_input, *, opset=13, labels=None, resize=None,
           crop=None, mean=None, std=None, dynamic_batch=True):
    """The ONNX bytes of module (torch.onnx.export to memory, in eval mode,
    no file). example_input: one batch of model inputs (a tensor, N x C x
    H x W). labels (one per class), resize, crop, mean and std are
    recorded in the model's metadata (dmbp.labels, dmbp.resize, ...; needs
    the onnx package) for explaining image files; without them the
    library's defaults apply (ImageNet's mean and std, crop H for a square
    H x H input)."""
    import torch
    buf = io.BytesIO()
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}} \
        if dynamic_batch else None
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, (example_input,), buf,
                              opset_version=opset, input_names=["input"],
                              output_names=["logits"], dynamic_axes=axes,
                              do_constant_folding=True)
    finally:
        module.train(was_training)
    data = buf.getvalue()
    meta = {}
    if labels is not None:
        meta["dmbp.labels"] = "\n".join(str(x) for x in labels)
    for key, v in (("resize", resize), ("crop", crop)):
        if v is not None:
            meta["dmbp." + key] = str(int(v))
    for key, v in (("mean", mean), ("std", std)):
        if v is not None:
            meta["dmbp." + key] = ",".join(repr(float(x)) for x in v)
    if meta:
        import onnx
        model = onnx.load_from_string(data)
        for k, v in meta.items():
            p = model.metadata_props.add()
            p.key, p.value = k, v
        data = model.SerializeToString()
    return data
