#!/usr/bin/python3
"""Give the library's internal types and functions the dmbp__ prefix.

Usage: tools/prefix.py FILE...   (rewrites the files in place)

Issue #22 item 6 renamed them once; a branch written against the old
names (new methods, ops, tests that include internal headers) is brought
up to date by running this on its files. Only code is rewritten, never
comments or strings, and a name after `.` or `->` (a member) is left
alone. `value` and `window` are common words, so they are renamed only
where they stand as a type: before `*` or a declared name, or as the
name a typedef ends with.
"""
import re
import sys

RENAME = {
    # types of src/model (graph.h, optable.h)
    "node_attr": "dmbp__node_attr",
    "attr_type": "dmbp__attr_type",
    "value_dtype": "dmbp__value_dtype",
    "op_entry": "dmbp__op_entry",
    # the plan (plan.h, builder.h, plan_int.h)
    "plan_builder": "dmbp__builder",
    "pvalue": "dmbp__pvalue",
    "plan_step": "dmbp__step",
    "step_fn": "dmbp__step_fn",
    "mask_layer": "dmbp__mask_layer",
    "chan_layout": "dmbp__layout",
    "step_list": "dmbp__step_list",
    "lane_split": "dmbp__lane_split",
    "dmbp_plan_slot": "dmbp__plan_slot",
    "dmbp_plan_cache": "dmbp__plan_cache",
    "dnnl__status_str": "dmbp__dnnl_status",
    # ops
    "bn_params": "dmbp__bn_params",
    "nd_map": "dmbp__nd_map",
    "nd_op": "dmbp__nd_op",
    "nd_reduce": "dmbp__nd_reduce",
    # methods
    "dmbp_explain_ctx": "dmbp__explain_ctx",
    "dmbp_rng": "dmbp__rng",
}
# nd.c's exported functions (nm -g): nd_run -> dmbp__nd_run, ...
for f in ("add_reduce", "add_step", "add_step_s", "axes", "axes_mask",
          "broadcast", "check_binary", "check_unary", "keep_batch",
          "map_make", "plain_in", "plain_tan", "reduce_make", "reduce_run",
          "run"):
    RENAME["nd_" + f] = "dmbp__nd_" + f
TYPE_ONLY = {"value": "dmbp__value", "window": "dmbp__window"}

TOKEN = re.compile(r'''
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<space>\s+)
  | (?P<other>->|.)
''', re.S | re.X)


def rewrite(text):
    toks = [(m.lastgroup, m.group()) for m in TOKEN.finditer(text)]
    sig = [i for i, (k, _) in enumerate(toks) if k not in ("space", "comment")]
    pos = {t: j for j, t in enumerate(sig)}
    out = []
    for i, (kind, s) in enumerate(toks):
        if kind != "ident":
            out.append(s)
            continue
        j = pos[i]
        prev = toks[sig[j - 1]][1] if j > 0 else ";"
        nxt = toks[sig[j + 1]] if j + 1 < len(sig) else ("other", ";")
        if prev in (".", "->"):
            out.append(s)
            continue
        if s in RENAME:
            out.append(RENAME[s])
        elif s in TYPE_ONLY and (
                nxt[1] == "*" or
                nxt[0] == "ident" or (prev == "}" and nxt[1] == ";") or
                (prev in ("struct", "typedef"))) and prev not in (
                    "int", "float", "double", "char", "bool", "int64_t",
                    "size_t", "unsigned", "return", "=", "+", "-", "/"):
            out.append(TYPE_ONLY[s])
        else:
            out.append(s)
    return "".join(out)


for path in sys.argv[1:]:
    with open(path) as f:
        old = f.read()
    new = rewrite(old)
    if new != old:
        with open(path, "w") as f:
            f.write(new)
        print(path)
