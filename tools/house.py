#!/usr/bin/python3
"""Draw the house of libdmbp from its own includes and calls.

Usage: tools/house.py [--why] [BUILDDIR]   (after `make`; BUILDDIR: .)
--why also lists, for every circle, its arrows and the symbols each one
calls: where a circle could be cut.

Files are the .c files under src/; an arrow A -> B means A calls (or
reads data of) something B defines, found with `nm` on the built objects
(undefined symbols of A's object against defined ones of B's), or A
includes a header of B's folder. Prints the folders (files, lines), the
arrows between folders, the circles (strongly connected sets of more than
one file, or of folders) and the floors: a file's floor is one above the
highest floor it calls (a circle shares one floor). Exit status 0 always:
this draws, tests/house.sh judges.
"""
import os
import re
import subprocess
import sys
from collections import defaultdict

args = sys.argv[1:]
why = "--why" in args
args = [a for a in args if a != "--why"]
build = args[0] if args else "."
src_root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
src = os.path.join(src_root, "src")


def folder_of(path):
    d = os.path.dirname(path)
    return d if d else "."


def rel(path):
    return os.path.relpath(path, src)


# ---- files and lines ------------------------------------------------------
cfiles, headers = [], []
for dp, _, fns in os.walk(src):
    for fn in fns:
        p = rel(os.path.join(dp, fn))
        if fn.endswith(".c"):
            cfiles.append(p)
        elif fn.endswith(".h"):
            headers.append(p)
cfiles.sort()
lines = {}
for p in cfiles + headers:
    with open(os.path.join(src, p), errors="replace") as f:
        lines[p] = sum(1 for _ in f)

# ---- calls from the objects -------------------------------------------------
obj_of = {}
prog_objs = []
for dp, _, fns in os.walk(os.path.join(build, "src")):
    if "/.libs" in dp or dp.endswith(".libs"):
        continue
    for fn in fns:
        m = re.match(r"(libdmbp_core_la|dmbp)-(.*)\.o$", fn)
        if not m:
            continue
        d = os.path.relpath(dp, os.path.join(build, "src"))
        c = os.path.normpath(os.path.join(d, m.group(2) + ".c"))
        if c not in lines:
            continue
        if m.group(1) == "dmbp" and not c.startswith("cli/"):
            # a library file the program compiles in too (json.c): its
            # definitions serve the program's world
            prog_objs.append((c, os.path.join(dp, fn)))
        else:
            obj_of[c] = os.path.join(dp, fn)

defs, undefs = {}, defaultdict(set)
for c, o in obj_of.items():
    out = subprocess.run(["nm", o], capture_output=True, text=True).stdout
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) == 2 and parts[0] == "U":
            undefs[c].add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRC":
            # the program's files and the library's are separate worlds
            defs.setdefault((c.startswith("cli/"), parts[2]), c)
for c, o in prog_objs:
    out = subprocess.run(["nm", o], capture_output=True, text=True).stdout
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) == 3 and parts[1] in "TDBRC":
            defs.setdefault((True, parts[2]), c)

edges = defaultdict(int)      # (a, b) -> calls
syms = defaultdict(list)      # (a, b) -> the symbols
for c, us in undefs.items():
    for u in us:
        t = defs.get((c.startswith("cli/"), u))
        if t and t != c:
            edges[(c, t)] += 1
            syms[(c, t)].append(u)

# ---- includes: a header belongs to its folder --------------------------------
inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
inc_folder = defaultdict(int)  # (folder a, folder b) -> includes
dnnl = []
for p in cfiles + headers:
    with open(os.path.join(src, p), errors="replace") as f:
        for ln in f:
            if "<dnnl.h>" in ln and ln.lstrip().startswith("#"):
                dnnl.append(p)
            m = inc_re.match(ln)
            if not m:
                continue
            h = m.group(1)
            cand = [os.path.normpath(os.path.join(folder_of(p), h)),
                    os.path.normpath(h)]
            for hp in cand:
                if hp in lines:
                    fa, fb = folder_of(p), folder_of(hp)
                    if fa != fb and not hp.startswith("dmbp"):
                        inc_folder[(fa, fb)] += 1
                    break


# ---- strongly connected sets (Tarjan) ----------------------------------------
def sccs(nodes, succ):
    index, low, on, st, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        st.append(v)
        on.add(v)
        for w in succ.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = st.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


succ = defaultdict(set)
for (a, b) in edges:
    succ[a].add(b)
comps = sccs(cfiles, succ)
comp_of = {v: i for i, c in enumerate(comps) for v in c}
floor = {}
for i, c in enumerate(comps):          # Tarjan emits callees first
    below = [floor[comp_of[w]] for v in c for w in succ[v]
             if comp_of[w] != i]
    floor[i] = 1 + max(below, default=0)

folders = sorted({folder_of(p) for p in cfiles + headers})
fsucc = defaultdict(set)
fcalls = defaultdict(int)
for (a, b), k in edges.items():
    fa, fb = folder_of(a), folder_of(b)
    if fa != fb:
        fcalls[(fa, fb)] += k
        fsucc[fa].add(fb)
for (fa, fb) in inc_folder:
    fsucc[fa].add(fb)
fcomps = [c for c in sccs(folders, fsucc) if len(c) > 1]

# ---- the drawing -------------------------------------------------------------
print("folder            files  lines  biggest file")
tot_f = tot_l = 0
for fo in folders:
    fs = [p for p in cfiles + headers if folder_of(p) == fo]
    n = sum(lines[p] for p in fs)
    big = max(fs, key=lambda p: lines[p])
    tot_f += len(fs)
    tot_l += n
    print(f"src/{fo:<14} {len(fs):5} {n:6}  {os.path.basename(big)} ({lines[big]})")
print(f"{'total':<18} {tot_f:5} {tot_l:6}")
print(f"\n{len(cfiles)} .c files, {len(edges)} file arrows (calls), "
      f"{max(floor.values(), default=0)} floors")
print("\nfolder arrows (calls / includes):")
for fa in folders:
    for fb in sorted(fsucc[fa]):
        print(f"  {fa:>8} -> {fb:<8} {fcalls.get((fa, fb), 0):4} calls "
              f"{inc_folder.get((fa, fb), 0):3} includes")
print("\ncircles between folders:",
      "; ".join(" <-> ".join(c) for c in fcomps) if fcomps else "none")
print("circles between files:")
n_circ = 0
for c in comps:
    if len(c) > 1:
        n_circ += 1
        fos = sorted({folder_of(v) for v in c})
        where = "inside " + fos[0] if len(fos) == 1 else "ACROSS " + ",".join(fos)
        print(f"  {where}: {' '.join(c)}")
        if why:
            for a in c:
                for b in sorted(succ[a]):
                    if b in c:
                        print(f"      {a} -> {b}: "
                              f"{' '.join(sorted(syms[(a, b)]))}")
if not n_circ:
    print("  none")
print("\nfloors (top first):")
by_floor = defaultdict(list)
for i, c in enumerate(comps):
    by_floor[floor[i]].append("{" + " ".join(c) + "}" if len(c) > 1 else c[0])
for fl in sorted(by_floor, reverse=True):
    print(f"  {fl:2}: {' '.join(sorted(by_floor[fl]))}")
print("\nfiles including <dnnl.h>:", " ".join(sorted(set(dnnl))) or "none")
over = [p for p in cfiles + headers if lines[p] > 800]
print("files over 800 lines:", " ".join(f"{p} ({lines[p]})" for p in over) or "none")
