#!/usr/bin/python3
"""Write models/evidence_plain/README.md from the JSON summaries that
train_plain.py leaves in its --cache directory (default /tmp).

    /usr/bin/python3 bench/dmbp_study/plain_readme.py [/tmp]
"""
import json
import os
import sys

import common as C

ARCH = {
    "vgg": "VGG-style: [conv3x3+BN+ReLU, maxpool] at 64x64 (16), 32x32 (32), 16x16 (64), then "
           "conv3x3+BN+ReLU (64) x2 at 8x8, global average pool, Flatten, Linear(64, 4); "
           "BN folded into the convolutions at export",
    "resnet": "ResNet-style: the backbone of `evidence_cnn.onnx` (stem conv3x3/2 (24)+BN+ReLU, "
              "basic blocks 48/2, 64/2, 64 with 1x1 conv+BN shortcuts where the shape changes), "
              "global average pool, Flatten, Linear(64, 4); BN folded into the convolutions",
}


def main():
    cache = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
    info = {}
    for a in ("vgg", "resnet"):
        p = os.path.join(cache, "evidence_%s.json" % a)
        if os.path.exists(p):
            info[a] = json.load(open(p))
    rows = []
    for a, r in info.items():
        iv, med = r["intervention"], r["median"]
        rows.append(
            "| `evidence_%s.onnx` | %s | %d | %.4f (%d/%d) | %d/%d (%.1f %%, median %+.2f) | "
            "%d/%d (%.1f %%, median %+.2f) | %d | %s | `/usr/bin/python3 bench/dmbp_study/"
            "train_plain.py %s` (%d s of training on 1 thread of a heavily shared machine) |"
            % (a, ARCH[a], r["params"], r["acc"], round(r["acc"] * r["n_test"]), r["n_test"],
               iv["for"][0], iv["for"][1], 100 * iv["for"][0] / iv["for"][1], med["for"],
               iv["against"][0], iv["against"][1], 100 * iv["against"][0] / iv["against"][1],
               med["against"], r["size"], ", ".join(r["ops"]), " ".join(r["argv"]), r["secs"]))
    samples = []
    for i in range(16):
        p = C.ev.draw_params(C.ev.SEED, "test", i)
        cells = ["`../evidence/test_%05d.png`" % i, C.ev.CLASSES[p["label"]],
                 " ".join("%+d" % v for v in C.ev.scores(p))]
        for a, r in info.items():
            lg = r["sample_logits"][i]
            top = max(range(4), key=lambda k: lg[k])
            cells.append(" ".join("%.2f" % v for v in lg) + ("" if top == p["label"] else
                                                              " (top: %s)" % C.ev.CLASSES[top]))
        samples.append("| " + " | ".join(cells) + " |")
    text = """# The evidence benchmark's cross-entropy-only models

Two more classifiers of `../make_evidence.py`'s images (issue #23: a
formulation that only wins on the model with per-object supervision,
`../evidence_cnn.onnx`, is not a win).  Both are plain CNNs trained with
**cross-entropy only**: no logit regression, no per-cell evidence map, no
per-object head.  Same data (16000 generated training images), same
normalisation and metadata as `evidence_cnn.onnx` (`dmbp.resize` 0,
`dmbp.crop` 64, the same `dmbp.mean`/`dmbp.std`, the four class names), ONNX
opset 13, dynamic batch axis like the shipped model; Adam one-cycle, peak
lr 0.004, batches of 64, horizontal flips, weight decay 1e-5, seed
20261130, one torch thread.  Trained by `bench/dmbp_study/train_plain.py`
(it reuses `train_evidence.py`'s data, accuracy and intervention code).
The intervention test is the shipped model's (first 500 test images:
deleting a filled shape of the labelled class must lower its logit,
deleting a hollow one must raise it).

| file | architecture | parameters (training graph, BN included) | test accuracy (first 4000 test images) | intervention, for | intervention, against | bytes | ops | command |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
%s

Both run with `./dmbp predict models/evidence_MODEL.onnx IMAGE` (checked:
the probabilities are the softmax of the logits below).  Retraining on
another machine or torch version may give slightly different weights.

## Samples

The samples and truths are those of `../evidence/` (the generator is
seeded: the same first 16 test images and `NAME.truth.png`, 0 neither, 1
evidence for the labelled class, 2 evidence against it), not copied again.
The logits of these models on them:

| image | label | scores (circle square triangle plus) | %s |
| --- | --- | --- | %s
%s

More images with truths: `/usr/bin/python3 models/make_evidence.py --split test --n 500 --out DIR`.
""" % ("\n".join(rows), " | ".join("logits, evidence_%s" % a for a in info),
       " --- |" * len(info), "\n".join(samples))
    out = os.path.join(C.REPO, "models", "evidence_plain")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
