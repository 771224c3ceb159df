#!/usr/bin/python3
"""The ground-truth part of `make eval-report` (driven by docs/results.sh).

    results_truth.py chance DIR N > OUT/evidence-chance.json
        the share of the image that each truth mask covers, averaged over
        the first N images of DIR: a map spread evenly over the image
        scores that mass accuracy (the chance level)
    results_truth.py pick OUT NAME...
        the sweep configuration with the best validation criterion (see
        CRITERION); prints its name
    results_truth.py pick-sg OUT NAME...
        the SmoothGrad run (one noise level each) with the best mean of
        the + and - mass accuracy on validation; prints its name
    results_truth.py section OUT
        the Markdown of the ground-truth section, on standard output
    results_truth.py classic OUT
        the Markdown table of DMBP's default against its classic preset
        on the Fashion-MNIST models (OUT/MODEL.csv, OUT/MODEL-classic.csv)

Reads only the files that docs/results.sh wrote under OUT (dmbp eval's
--json-out and --csv); the numbers are dmbp's, this script only arranges
them and computes paired differences from the per-image CSV rows.
"""

import csv
import glob
import json
import math
import os
import sys

CE_MODELS = ["evidence_vgg", "evidence_resnet"]
COLUMNS = ["pos_mass_accuracy", "neg_mass_accuracy", "pos_rank_accuracy",
           "neg_rank_accuracy", "pos_pointing", "neg_pointing"]
HEAD = ["+ mass", "− mass", "+ rank", "− rank", "+ pointing", "− pointing"]
# The sweep's validation criterion: the mean of the four accuracy columns
# (mass and rank, positive and negative). The claim under test is that the
# two maps find both kinds of evidence, so both count equally; the pointing
# game is left out because it is 0/1 per image and too coarse to rank
# settings on a hundred images.
CRITERION = COLUMNS[:4]


def load(out, name):
    with open(os.path.join(out, name + ".json")) as f:
        return json.load(f)


def maybe_load(out, name):
    """load, or {} when the run is missing (a report assembled early)."""
    path = os.path.join(out, name + ".json")
    return load(out, name) if os.path.exists(path) else {}


def crit(metrics):
    vals = [metrics[c]["mean"] for c in CRITERION]
    return None if any(v is None for v in vals) else sum(vals) / len(vals)


def rows_of(out, name, method):
    """{image index: {column: float or None}} of one method in NAME.csv."""
    res = {}
    with open(os.path.join(out, name + ".csv")) as f:
        for r in csv.DictReader(f):
            if r["method"] == method:
                res[int(r["index"])] = {c: (float(r[c]) if r[c] != "" else None)
                                       for c in COLUMNS}
    return res


def paired(a, b, col):
    """Mean and standard error of b - a over the images where both exist."""
    d = [b[i][col] - a[i][col] for i in a
         if i in b and a[i][col] is not None and b[i][col] is not None]
    if len(d) < 2:
        return None, None, len(d)
    m = sum(d) / len(d)
    sd = math.sqrt(sum((x - m) ** 2 for x in d) / (len(d) - 1))
    return m, sd / math.sqrt(len(d)), len(d)


def right_rows(out, name, method):
    """The CSV rows of a method on the images explained for their label."""
    rows = []
    with open(os.path.join(out, name + ".csv")) as f:
        for r in csv.DictReader(f):
            base = os.path.basename(r["image"])[:-len(".png")]
            if r["method"] == method and r["label"] == LABELS.get(base):
                rows.append({c: (float(r[c]) if r[c] != "" else None) for c in COLUMNS})
    return rows


def mean_se(vals):
    v = [x for x in vals if x is not None]
    if len(v) < 2:
        return "n/a"
    m = sum(v) / len(v)
    return "%.3f ± %.3f" % (m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)))


def cell(m):
    if m is None or m["mean"] is None:
        return "n/a"
    if m["se"] is None:                 # a single image
        return "%.3f" % m["mean"]
    return "%.3f ± %.3f" % (m["mean"], m["se"])


def chance(args):
    from PIL import Image
    import numpy as np
    d, n = args[0], int(args[1])
    files = sorted(f for f in glob.glob(os.path.join(d, "*.truth.png")))[:n]
    share = {1: [], 2: []}
    for f in files:
        t = np.asarray(Image.open(f))
        for k in share:
            if (t == k).any():
                share[k].append(float((t == k).mean()))
    json.dump({"n": len(files), "for": sum(share[1]) / len(share[1]),
               "against": sum(share[2]) / len(share[2]),
               "n_for": len(share[1]), "n_against": len(share[2])}, sys.stdout)
    print()


def pick(args):
    out, names = args[0], args[1:]
    best = max(names, key=lambda n: crit(load(out, n)["methods"][0]["metrics"]) or -1)
    print(best)


# SmoothGrad's noise level is chosen on validation by the mean of the two
# mass accuracies: the quantities the comparison with DMBP is made on.
SG_CRITERION = COLUMNS[:2]


def pick_sg(args):
    out, names = args[0], args[1:]

    def score(n):
        met = load(out, n)["methods"][0]["metrics"]
        vals = [met[c]["mean"] for c in SG_CRITERION]
        return -1 if any(v is None for v in vals) else sum(vals) / len(vals)
    print(max(names, key=score))


# DMBP's settings shown beside its rows (dmbp eval's JSON records them all).
DMBP_SHOWN = ["path_steps", "path_refresh", "fix_negative", "iterations", "lr", "mask_init",
              "samples", "sigma"]


def options_of(j):
    for m in j.get("methods", []):
        st = m.get("settings")
        if m.get("method") == "dmbp" and isinstance(st, dict):
            return ", ".join("%s %s" % (k, ("%g" % st[k]) if isinstance(st[k], float) else st[k])
                             for k in DMBP_SHOWN if k in st)
    return j.get("settings", {}).get("dmbp", "")      # before 0.3: prose


def sg_choice(out):
    """{model: sigma} chosen on validation (docs/results.sh)."""
    path = os.path.join(out, "evidence-sg-choice.txt")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return dict(line.split() for line in f if line.strip())


def paired_cell(base, other, c, units=False):
    m, se, n = paired(base, other, c)
    if m is None:
        return "n/a"
    star = " \\*" if abs(m) > 2 * se else ""
    if units:
        return "%+.3f ± %.3f (%+.1f SE)%s" % (m, se, m / se if se > 0 else 0.0, star)
    return "%+.3f ± %.3f%s" % (m, se, star)


def method_row(label, m, n_img):
    """One method's row: its metrics' means and its seconds per image."""
    secs_img = (m["seconds"]["maps"] + m["seconds"]["metrics"]) / n_img
    print("| %s | %s | %.3f |" % (label, " | ".join(cell(m["metrics"].get(c)) for c in COLUMNS),
                                  secs_img))


def paired_rows(out, base, runs):
    """Rows of paired differences, base (DMBP's default) minus each run's
    method: runs are (label, run name, method)."""
    for label, name, method in runs:
        other = rows_of(out, name, method)
        print("| %s | %s |" % (label, " | ".join(paired_cell(other, base, c) for c in COLUMNS)))


def ce_model(out, model):
    """The tables of a ground-truth model trained with cross-entropy only:
    every method, the slow ones, the classic preset and SmoothGrad x input
    at its validation noise; paired differences against the default."""
    p = print
    main = load(out, model)
    sg = sg_choice(out).get(model)
    runs = [(m["method"], model, m["method"]) for m in main["methods"]]
    if os.path.exists(os.path.join(out, model + "-slow.json")):
        runs += [(m["method"] + " (%d images)" % load(out, model + "-slow")["n"],
                  model + "-slow", m["method"]) for m in load(out, model + "-slow")["methods"]]
    if os.path.exists(os.path.join(out, model + "-classic.json")):
        runs += [("dmbp, preset classic", model + "-classic", "dmbp")]
    if sg and os.path.exists(os.path.join(out, model + "-sg.json")):
        runs += [("smoothgrad, σ %s, %d samples (val choice)" % (
            sg, load(out, model + "-sg")["methods"][0]["settings"]["samples"]),
            model + "-sg", "smoothgrad")]
    p("### %s\n" % model)
    p("`models/%s.onnx`: trained on the same generator with cross-entropy "
      "only (no per-object head, models/train_evidence.py); the same %d "
      "test images, each map for the model's top class (%d of them are "
      "explained for a class other than their label). DMBP: %s.\n"
      % (model, main["n"], wrong_top(out, model), options_of(main)))
    p("| method | " + " | ".join(h + " ↑" for h in HEAD) + " | s / image |")
    p("|---|" + "---:|" * (len(HEAD) + 1))
    for label, name, method in runs:
        j = load(out, name)
        method_row(label, [x for x in j["methods"] if x["method"] == method][0], j["n"])
    p()
    p("Paired differences, the default DMBP minus the method (\\* more than "
      "two standard errors; positive: DMBP puts more on the truth):\n")
    p("| method | " + " | ".join(HEAD) + " |")
    p("|---|" + "---:|" * len(HEAD))
    paired_rows(out, rows_of(out, model, "dmbp"),
                [r for r in runs if r[1:] != (model, "dmbp")])
    p()


def bar(out):
    """The bar path DMBP was made the default against: its + and - mass
    above IG's and SmoothGrad x input's (at the validation noise) on the
    test split of each ground-truth model, paired, by more than 2 SE."""
    p = print
    sg = sg_choice(out)
    models = [("evidence_cnn", "evidence")] + [(m, m) for m in CE_MODELS
                                               if os.path.exists(os.path.join(out, m + ".json"))]
    p("### The default DMBP against IG and SmoothGrad x input, all three models\n")
    p("Paired over the test images (the − mass over those with evidence "
      "against the class), the default DMBP minus the method, ± one "
      "standard error and in standard-error units; \\* more than two. "
      "IG: 32 steps (its default); SmoothGrad x input: %s samples at the "
      "noise level best on the validation split by the mean of the two "
      "masses (σ per model in the row).\n" % (
          load(out, "evidence-sg")["methods"][0]["settings"]["samples"]
          if os.path.exists(os.path.join(out, "evidence-sg.json")) else "n/a"))
    p("| model | default + mass | default − mass | − IG, + mass | − IG, − mass | − SG×I, + mass | − SG×I, − mass |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    for model, pre in models:
        base = rows_of(out, pre, "dmbp")
        ig = rows_of(out, pre, "ig")
        met = [m for m in load(out, pre)["methods"] if m["method"] == "dmbp"][0]["metrics"]
        cells = [cell(met["pos_mass_accuracy"]), cell(met["neg_mass_accuracy"])]
        cells += [paired_cell(ig, base, c, True) for c in COLUMNS[:2]]
        if os.path.exists(os.path.join(out, pre + "-sg.csv")):
            sgr = rows_of(out, pre + "-sg", "smoothgrad")
            cells += [paired_cell(sgr, base, c, True) for c in COLUMNS[:2]]
        else:
            cells += ["n/a", "n/a"]
        p("| %s (σ %s) | %s |" % (model, sg.get(model, "n/a"), " | ".join(cells)))
    p()


def section(args):
    out = args[0]
    p = print
    main = load(out, "evidence")
    ch = load(out, "evidence-chance")
    with open(os.path.join(out, "evidence-sweep.txt")) as f:
        sweep = [line.rstrip("\n").split(":", 1) for line in f if line.strip()]
    best = open(os.path.join(out, "evidence-choice.txt")).read().split()[0]
    # (run, label, method): rows from runs of their own.
    variants = [("evidence-classic", "dmbp, preset classic", "dmbp"),
                ("evidence-preset", "dmbp, preset evidence", "dmbp"),
                ("evidence-smooth", "dmbp, smoothed", "dmbp")]
    if os.path.exists(os.path.join(out, "evidence-sg.json")):
        variants.append(("evidence-sg", "smoothgrad, σ %s, %d samples (val choice)" % (
            sg_choice(out).get("evidence_cnn"),
            load(out, "evidence-sg")["methods"][0]["settings"]["samples"]), "smoothgrad"))
    variants = [v for v in variants if os.path.exists(os.path.join(out, v[0] + ".json"))]
    if os.path.exists(os.path.join(out, "evidence-slow.json")):
        variants = [("evidence-slow", m["method"], m["method"])
                    for m in load(out, "evidence-slow")["methods"]] + variants
    # The sweep's test run: its own, or the preset run when it is that.
    best_run = "evidence-preset" if best == "preset-evidence" else "evidence-best"
    if best not in ("default", "preset-evidence") and \
            os.path.exists(os.path.join(out, "evidence-best.json")):
        variants.append(("evidence-best", "dmbp, sweep's choice `%s`" % best, "dmbp"))

    p("## Ground truth: the evidence benchmark\n")
    # A note of whoever ran the report when this section is older than the
    # Fashion-MNIST part (docs/results.sh --fmnist reruns only that part).
    note = os.path.join(out, "evidence-note.md")
    if os.path.exists(note):
        p(open(note).read().rstrip("\n") + "\n")
    p("Where do the maps put the evidence for and against the class, when we "
      "know where it is? `models/evidence_cnn.onnx` classifies the synthetic "
      "images of `models/make_evidence.py` (64x64, four shape classes; the "
      "score of a class is its number of filled shapes minus its number of "
      "hollow shapes; see [models/evidence/](../models/evidence/README.md)). "
      "Each image comes with `NAME.truth.png`: the filled shapes of the "
      "labelled class are the evidence for it, its hollow shapes the evidence "
      "against it; the other shapes and the cluttered background carry "
      "nothing. The model was checked to use both (deleting a shape moves "
      "the logit the right way: the intervention test in that README). "
      "What the numbers say: [What the ground truth says about DMBP]"
      "(#what-the-ground-truth-says-about-dmbp).\n")
    p("```sh")
    with open(os.path.join(out, "evidence-commands.txt")) as f:
        p(f.read().rstrip("\n"))
    p("```\n")
    secs = {}
    for name in ["evidence"] + sorted({v[0] for v in variants}) + ["evidence-sweep-all"]:
        path = os.path.join(out, name + ".seconds")
        if os.path.exists(path):
            secs[name] = int(open(path).read())
    run = os.path.join(out, "evidence-run.txt")
    total = (open(run).read().strip() if os.path.exists(run) else
             "The run did not finish: the rows below are the runs that did.")
    p("- %s" % total)
    p("- Test split: the first %d generated test images (`--split test`); "
      "%d of them have evidence against the labelled class (a hollow shape "
      "of it), so the − columns average over those only." % (main["n"], ch["n_against"]))
    p("- Each map explains the model's top class (%s of the %d images are "
      "explained for a class other than their label, whose truth is then "
      "about another class)." % (wrong_top(out), main["n"]))
    p("- Chance level of the mass accuracy: a map spread evenly over the "
      "image puts %.3f of its mass on the evidence for (on average, over "
      "images that have some) and %.3f on the evidence against. Rank "
      "accuracy has the same chance level.\n" % (ch["for"], ch["against"]))

    p("| method | " + " | ".join(h + " ↑" for h in HEAD) + " | s / image |")
    p("|---|" + "---:|" * (len(HEAD) + 1))
    for m in main["methods"]:
        method_row(m["method"] if m["method"] != "dmbp" else "dmbp (default preset)", m, main["n"])
    for name, label, method in variants:
        j = load(out, name)
        m = [x for x in j["methods"] if x["method"] == method][0]
        method_row("%s (%d images)" % (label, j["n"]) if j["n"] != main["n"] else label,
                   m, j["n"])
    p()
    p("DMBP settings: default %s; smoothed: `%s`; preset evidence: `%s`.\n"
      % (options_of(main), options_of(maybe_load(out, "evidence-smooth")),
         options_of(maybe_load(out, "evidence-preset"))))

    p("The same over the %d images whose top class is their label (the "
      "truth is about the class explained), from the CSV rows:\n"
      % (main["n"] - wrong_top(out)))
    p("| method | " + " | ".join(h + " ↑" for h in HEAD) + " |")
    p("|---|" + "---:|" * len(HEAD))
    runs = [(m["method"] if m["method"] != "dmbp" else "dmbp (default preset)", "evidence",
             m["method"]) for m in main["methods"]]
    runs += [(label, name, method) for name, label, method in variants]
    for label, name, method in runs:
        rows = right_rows(out, name, method)
        p("| %s%s | %s |" % (label, "" if len(rows) == main["n"] - wrong_top(out)
                             else " (%d images)" % len(rows),
                             " | ".join(mean_se([r[c] for r in rows]) for c in COLUMNS)))
    p()
    p("Paired differences, DMBP's default minus the method (image by image, "
      "mean ± standard error; \\* more than two standard errors; positive: "
      "DMBP puts more on the truth):\n")
    p("| method | " + " | ".join(HEAD) + " |")
    p("|---|" + "---:|" * len(HEAD))
    others = [(m["method"], "evidence", m["method"]) for m in main["methods"]
              if m["method"] != "dmbp"]
    others += [(label, name, method) for name, label, method in variants]
    paired_rows(out, rows_of(out, "evidence", "dmbp"), others)
    p()

    p("### Sweep of DMBP's settings (validation split)\n")
    val = load(out, "evidence-sweep-default")
    p("One change at a time from the default preset, each on the first %d "
      "images of the generator's validation split (`--split val`, its own "
      "seed stream: no image is shared with the test split). Criterion: the "
      "mean of the four accuracy columns (+/− mass, +/− rank). The best "
      "setting on validation is then run once on the test split.\n" % val["n"])
    p("| setting | options | " + " | ".join(HEAD[:4]) + " | criterion |")
    p("|---|---|" + "---:|" * 5)
    for name, opts in sweep:
        j = load(out, "evidence-sweep-" + name)
        met = j["methods"][0]["metrics"]
        c = crit(met)
        mark = "**" if name == best else ""
        p("| %s%s%s | `%s` | %s | %s |" % (
            mark, name, mark, opts.strip() or "(defaults)",
            " | ".join(cell(met[k]) for k in CRITERION),
            "n/a" if c is None else "%.3f" % c))
    p()
    if best == "default":
        p("The default preset has the best criterion on validation: nothing "
          "to carry to the test split.\n")
    elif os.path.exists(os.path.join(out, best_run + ".json")):
        bj = load(out, best_run)["methods"][0]["metrics"]
        dj = [m for m in main["methods"] if m["method"] == "dmbp"][0]["metrics"]
        p("On the test split the choice `%s` scores %.3f on the criterion, "
          "the default preset %.3f (the first table; paired differences in the "
          "third).\n" % (best, crit(bj), crit(dj)))
    if best != "default" and os.path.exists(os.path.join(out, "evidence-fmnist-resnet-best.csv")):
        fmnist(out, best)
    bar(out)
    for m in CE_MODELS:
        if os.path.exists(os.path.join(out, m + ".json")):
            ce_model(out, m)


# The Fashion-MNIST perturbation metrics, and whether higher is better.
FMNIST = [("deletion_auc", "deletion AUC ↓", False), ("insertion_auc", "insertion AUC ↑", True),
          ("neg_rise_5", "logit rise, 5 % ↑", True), ("neg_rise_10", "10 % ↑", True),
          ("neg_rise_20", "20 % ↑", True), ("aopc", "AOPC ↑", True)]


def fmnist_rows(path):
    with open(path) as f:
        return {int(r["index"]): {c: float(r[c]) for c, _, _ in FMNIST}
                for r in csv.DictReader(f) if r["method"] == "dmbp"}


def classic(args):
    """DMBP's default against its classic preset on the Fashion-MNIST
    metrics, both run by docs/results.sh on the same images: paired
    differences (default - classic), in standard errors."""
    out = args[0]
    p = print
    p("### DMBP's default against the classic preset\n")
    p("The default (path DMBP) and the classic formulation (`--preset "
      "classic`, the default until 0.2) on the same images of each model; "
      "paired differences, default minus classic, ± one standard error "
      "and in standard-error units (\\* more than two):\n")
    p("| model | images | " + " | ".join(h for _, h, _ in FMNIST) + " |")
    p("|---|---:|" + "---:|" * len(FMNIST))
    for m in ("vgg", "resnet"):
        a = fmnist_rows(os.path.join(out, "%s-classic.csv" % m))
        b = fmnist_rows(os.path.join(out, "%s.csv" % m))
        common = [i for i in a if i in b]
        cells = []
        for c, h, up in FMNIST:
            d = [b[i][c] - a[i][c] for i in common]
            mean = sum(d) / len(d)
            se = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d))
            cells.append("%+.3f ± %.3f (%+.1f SE)%s" % (
                mean, se, mean / se if se > 0 else 0.0,
                " \\*" if abs(mean) > 2 * se else ""))
        p("| fmnist_%s | %d | %s |" % (m, len(common), " | ".join(cells)))
    p()


def fmnist(out, best):
    """The sweep's choice against the default on the Fashion-MNIST metrics:
    paired differences (choice - default); a column is lost when the choice
    is worse by more than two standard errors."""
    p = print
    n = load(out, "evidence-fmnist-vgg-default")["n"]
    p("Does the choice keep DMBP's faithfulness on the Fashion-MNIST models "
      "(the perturbation metrics of the first part)? Both settings were run "
      "on the first %d test images of each model; paired differences, "
      "`%s` minus the default (\\* more than two standard errors):\n" % (n, best))
    p("| model | " + " | ".join(h for _, h, _ in FMNIST) + " |")
    p("|---|" + "---:|" * len(FMNIST))
    lost = []
    for m in ("vgg", "resnet"):
        a = fmnist_rows(os.path.join(out, "evidence-fmnist-%s-default.csv" % m))
        b = fmnist_rows(os.path.join(out, "evidence-fmnist-%s-best.csv" % m))
        cells = []
        for c, h, up in FMNIST:
            d = [b[i][c] - a[i][c] for i in a if i in b]
            mean = sum(d) / len(d)
            se = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d))
            sig = abs(mean) > 2 * se
            if sig and (mean < 0) == up:
                lost.append("fmnist_%s %s" % (m, c))
            cells.append("%+.3f ± %.3f%s" % (mean, se, " \\*" if sig else ""))
        p("| fmnist_%s | %s |" % (m, " | ".join(cells)))
    p()
    p("Worse by more than two standard errors: %s." % (", ".join(lost) if lost else "nothing"))
    named = best == "preset-evidence"
    if lost:
        p("So the choice does not keep the Fashion-MNIST faithfulness, and the "
          "default preset is kept%s.\n" % (
              "; the choice is the existing preset `evidence`, which stays as it is"
              if named else "; the choice is not added as a preset"))
    else:
        p("The choice keeps the Fashion-MNIST faithfulness%s.\n" % (
            " (it is the existing preset `evidence`)" if named else ""))


def wrong_top(out, name="evidence"):
    n = 0
    with open(os.path.join(out, name + ".csv")) as f:
        for r in csv.DictReader(f):
            if r["method"] == "gxi":
                name = os.path.basename(r["image"])[:-len(".png")]
                n += int(r["label"] != LABELS.get(name, r["label"]))
    return n


LABELS = {}


def load_labels(out):
    path = os.path.join(out, "evidence-labels.csv")
    if os.path.exists(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                LABELS[r["name"]] = r["class"]


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("chance", "pick", "pick-sg", "section",
                                                   "classic"):
        sys.exit(__doc__)
    if sys.argv[1] == "section":
        load_labels(sys.argv[2])
    {"chance": chance, "pick": pick, "pick-sg": pick_sg, "section": section,
     "classic": classic}[sys.argv[1]](sys.argv[2:])
