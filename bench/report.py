#!/usr/bin/python3
"""Summarise a `make bench` results file (JSON lines from bench/run.sh).

Usage: bench/report.py RESULTS.jsonl

Medians over every timed run of every process; peak RSS is the largest
ru_maxrss among the processes of one computation.  Prints Markdown: the
block between the BEGIN/END lines is what docs/performance.md's results
section holds.  Python 3 standard library only.
"""

import argparse
import json
import statistics
from collections import defaultdict

NAMES = [
    ("forward", "forward"),
    ("grad", "input gradient"),
    ("dmbp_iter", "one DMBP iteration"),
    ("ig", "IG, 32 steps{iglanes}"),
    ("dmbp", "full DMBP, {iters} iterations"),
    ("lrp", "LRP, epsilon-plus-flat"),
    ("occlusion", "occlusion, 32 x 32 patch moved by 24"),
]


def load(path):
    recs, system = [], {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("impl") == "system":
                system.update(r)
            else:
                recs.append(r)
    return recs, system


def fmt_s(t):
    if t is None:
        return "n/a"
    if t >= 100:
        return "%.0f s" % t
    if t >= 1:
        return "%.2f s" % t
    return "%.1f ms" % (t * 1e3)


def fmt_mib(kb):
    return "n/a" if kb is None else "%.0f MiB" % (kb / 1024.0)


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else "%.2f" % (a / b)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results")
    args = ap.parse_args()
    recs, system = load(args.results)

    times = defaultdict(list)
    rss = defaultdict(int)
    flops = {}
    failed = [r for r in recs if r.get("impl") == "failed"]
    for r in recs:
        if "times" not in r or r.get("error"):
            continue
        key = (r.get("model"), r["what"], r["impl"], int(r.get("threads") or 0),
               r.get("lanes"))
        times[key].extend(r["times"])
        rss[key] = max(rss[key], r.get("peak_rss_kb", 0))
        if r["impl"] == "onednn-conv":
            flops[r["model"]] = r["flops"]

    def med(model, what, impl, threads, lanes=None):
        v = times.get((model, what, impl, threads, lanes))
        return statistics.median(v) if v else None

    def peak(model, what, impl, threads, lanes=None):
        return rss.get((model, what, impl, threads, lanes))

    def nruns(model, what, impl, threads, lanes=None):
        return len(times.get((model, what, impl, threads, lanes), []))

    th = int(system.get("threads", 2))
    iters = system.get("iterations", 200)
    models = []
    for k in times:
        if k[0] and k[0] not in models:
            models.append(k[0])

    out = []
    w = out.append
    w("<!-- BEGIN make bench results -->")
    w("Measured %s with `%s` on %s (%s logical CPUs), %d threads for both, "
      "%s batch 1 (one image), fp32. PyTorch %s, oneDNN "
      "(Debian libdnnl2) %s. Load average at start %s, at end %s."
      % (system.get("date", "?"), system.get("command", "make bench"),
         system.get("cpu", "?"), system.get("nproc", "?"), th,
         ("%.0f GiB RAM," % (system["mem_total_kb"] / 1048576.0)
          if system.get("mem_total_kb") else ""),
         system.get("torch", "?"), system.get("onednn_pkg", "?"),
         system.get("load_start", "?"), system.get("load_end", "?")))
    if iters != 200:
        w("")
        w("**Not a valid run: DMBP ran %s iterations (BENCH_ITERATIONS), "
          "not 200.**" % iters)
    try:
        load_start = float(str(system.get("load_start", "0")).split()[0])
    except ValueError:
        load_start = 0.0
    if load_start > 0.5:
        w("")
        w("**Warning: the machine was not idle (load average %.2f at the "
          "start): timings are disturbed.**" % load_start)
    w("")
    w("Times are medians over every timed run (%s processes per "
      "implementation, %s runs each after a warm-up; the full DMBP %s "
      "process(es), one run, no warm-up). Ratio = PyTorch time / libdmbp "
      "time (above 1: libdmbp is faster). Peak RSS = the largest "
      "`ru_maxrss` of the processes running that computation (PyTorch's "
      "includes the interpreter and torch itself)."
      % (system.get("repeat", "?"), system.get("inner", "?"),
         system.get("full_repeat", "?")))
    w("")
    w("| model | computation | libdmbp | PyTorch | PyTorch variant | ratio "
      "| peak RSS libdmbp | peak RSS PyTorch |")
    w("|---|---|---:|---:|---|---:|---:|---:|")
    for m in models:
        for what, label in NAMES:
            igl = int(system.get("ig_lanes", 0) or 0)
            label = label.format(iters=iters, iglanes=(
                " (libdmbp: lanes as the memory budget allows)" if igl == 0
                else "" if igl >= 32 else
                " (libdmbp: %d lanes at a time)" % igl))
            ours = med(m, what, "libdmbp", th)
            variants = (["torch-explicit", "torch-autograd"]
                        if what in ("dmbp_iter", "dmbp") else ["torch"])
            for impl in variants:
                theirs = med(m, what, impl, th)
                if ours is None and theirs is None:
                    continue
                vname = {"torch": "autograd",
                         "torch-explicit": "explicit formula",
                         "torch-autograd": "double backward"}[impl]
                vname = {"lrp": "tests/ref/lrp_torch.py (float32)",
                         "occlusion": "patches in batches of 16"}.get(what, vname)
                w("| %s | %s | %s | %s | %s | %s | %s | %s |"
                  % (m, label, fmt_s(ours), fmt_s(theirs), vname,
                     ratio(theirs, ours), fmt_mib(peak(m, what, "libdmbp", th)),
                     fmt_mib(peak(m, what, impl, th))))
    w("")
    w("Achieved forward throughput: FLOPs of the convolutions and fully "
      "connected layers at batch 1 (2 x Cin/groups x Cout x kh x kw x Hout x "
      "Wout per convolution, 2 x in x out per FC) over the median forward "
      "time. oneDNN-only: the same layers as bare oneDNN primitives "
      "(`bench/dnnl_conv`, direct convolution and inner product with bias, "
      "preferred layouts, nothing between layers), same threads, same run.")
    w("")
    w("| model | GFLOP | libdmbp GFLOP/s | PyTorch GFLOP/s | oneDNN-only "
      "GFLOP/s | libdmbp / oneDNN-only |")
    w("|---|---:|---:|---:|---:|---:|")
    for m in models:
        fl = flops.get(m)
        if not fl:
            continue
        o = med(m, "forward", "libdmbp", th)
        t = med(m, "forward", "torch", th)
        d = med(m, "forward", "onednn-conv", th)
        g = lambda s: "n/a" if not s else "%.1f" % (fl / s / 1e9)  # noqa: E731
        w("| %s | %.2f | %s | %s | %s | %s |"
          % (m, fl / 1e9, g(o), g(t), g(d),
             "n/a" if not (o and d) else "%.2f" % (d / o)))

    cost_rows = []
    for m in models:
        c = med(m, "dmbp", "libdmbp", th)
        d = med(m, "dmbp_default", "libdmbp", th)
        if c is None or d is None:
            continue
        cost_rows.append("| %s | %s | %s | %s | %s / %s |"
                         % (m, fmt_s(c), fmt_s(d), ratio(c, d),
                            fmt_mib(peak(m, "dmbp", "libdmbp", th)),
                            fmt_mib(peak(m, "dmbp_default", "libdmbp", th))))
    if cost_rows:
        w("")
        w("DMBP's default preset (%s) beside the classic formulation the "
          "PyTorch peers compute (%s iterations), libdmbp, one image, %d "
          "threads. Ratio = classic / default (1 or more: the default costs "
          "no more)." % (system.get("default_preset", "see dmbp(1)"), iters,
                         th))
        w("")
        w("| model | classic | default | ratio | peak RSS (classic / "
          "default) |")
        w("|---|---:|---:|---:|---:|")
        out.extend(cost_rows)

    lane_rows = []
    for m in models:
        a = med(m, "dmbp8", "libdmbp", th, 16)
        b = med(m, "dmbp8", "libdmbp", th, 2)
        if a is None and b is None:
            continue
        ipm = lambda s: "n/a" if not s else "%.2f" % (8 * 60.0 / s)  # noqa: E731
        lane_rows.append("| %s | %s (%s img/min) | %s (%s img/min) | %s | %s / %s |"
                         % (m, fmt_s(a), ipm(a), fmt_s(b), ipm(b), ratio(b, a),
                            fmt_mib(peak(m, "dmbp8", "libdmbp", th, 16)),
                            fmt_mib(peak(m, "dmbp8", "libdmbp", th, 2))))
    if lane_rows:
        w("")
        w("DMBP (%s iterations) over 8 images: all 8 as 16 lanes of one plan "
          "(`max_lanes` 16) versus one image (2 lanes) at a time "
          "(`max_lanes` 2), libdmbp, %d threads." % (iters, th))
        w("")
        w("| model | 8 images as lanes | one at a time | speedup | peak RSS "
          "(lanes / one at a time) |")
        w("|---|---:|---:|---:|---:|")
        out.extend(lane_rows)

    scale_rows = []
    for m in models:
        for what, label in NAMES[:3]:
            for impl, name in (("libdmbp", "libdmbp"), ("torch", "PyTorch"),
                               ("torch-explicit", "PyTorch explicit")):
                t1 = med(m, what, impl, 1)
                t2 = med(m, what, impl, th)
                if t1 is None:
                    continue
                scale_rows.append("| %s | %s | %s | %s | %s | %s |"
                                  % (m, label, name, fmt_s(t1), fmt_s(t2),
                                     ratio(t1, t2)))
    if scale_rows and th != 1:
        w("")
        w("Thread scaling: the same computation with 1 and %d threads "
          "(speedup = 1-thread time / %d-thread time)." % (th, th))
        w("")
        w("| model | computation | implementation | 1 thread | %d threads "
          "| speedup |" % th)
        w("|---|---|---|---:|---:|---:|")
        out.extend(scale_rows)

    w("")
    cpu_bf16 = "yes" if system.get("avx512_bf16") else "no"
    cpu_amx = "yes" if system.get("amx_bf16") else "no"
    bf_rows = []
    for m in models:
        for what, label in NAMES[:3]:
            tb = "torch-explicit-bf16" if what == "dmbp_iter" else "torch-bf16"
            tf = "torch-explicit" if what == "dmbp_iter" else "torch"
            ob, of_ = med(m, what, "libdmbp-bf16", th), med(m, what, "libdmbp", th)
            pb, pf = med(m, what, tb, th), med(m, what, tf, th)
            if ob is None and pb is None:
                continue
            bf_rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                           % (m, label, fmt_s(ob), fmt_s(pb), ratio(pb, ob),
                              ratio(of_, ob), ratio(pf, pb),
                              ratio(pf, of_),
                              fmt_mib(peak(m, what, "libdmbp-bf16", th)),
                              fmt_mib(peak(m, what, tb, th))))
    if bf_rows:
        w("bf16: libdmbp `--fpmath bf16` (convolutions and matrix products "
          "with bf16 source and weights, f32 accumulation) beside PyTorch "
          "under `torch.autocast(\"cpu\", dtype=torch.bfloat16)` (explicit "
          "formula for the DMBP iteration), same rounds and threads. The CPU "
          "has avx512_bf16: %s, amx_bf16: %s. Ratios: PyTorch bf16 / libdmbp "
          "bf16; each one's bf16 speedup (f32 time / bf16 time); and, to "
          "compare, PyTorch f32 / libdmbp f32 from the table above."
          % (cpu_bf16, cpu_amx))
        w("")
        w("| model | computation | libdmbp bf16 | PyTorch bf16 | ratio bf16 "
          "| libdmbp f32/bf16 | PyTorch f32/bf16 | ratio f32 | peak RSS "
          "libdmbp bf16 | peak RSS PyTorch bf16 |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        out.extend(bf_rows)
    else:
        w("bf16: not measured in this run (`BENCH_BF16=1`, or a CPU with "
          "avx512_bf16 or amx_bf16). The CPU has avx512_bf16: %s, amx_bf16: "
          "%s." % (cpu_bf16, cpu_amx))
    if failed:
        w("")
        w("Failed measurements: %s." % ", ".join(
            "%s (%s threads)" % (r.get("label"), r.get("threads")) for r in failed))
    w("<!-- END make bench results -->")
    print("\n".join(out))


if __name__ == "__main__":
    main()
