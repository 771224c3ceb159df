"""tools/clicompare/norm.py FILE: FILE's text with what differs between
two runs of the same command replaced (compare.sh): timings, input
modification times, dates, eval's per-image timings, the binaries' paths
(CLICOMPARE_BINS), mpirun's process names."""
import json, os, re, sys
t = open(sys.argv[1], errors='replace').read()
for b in sorted(os.environ.get('CLICOMPARE_BINS', '').split(), key=len,
                reverse=True):
    t = t.replace(b, 'BIN')
t = re.sub(r'"input_mtime_ns": \d+', '"input_mtime_ns": T', t)
t = re.sub(r'\d+\.\d+ images/min', 'R images/min', t)
t = re.sub(r'\d+:\d\d:\d\d left', 'T left', t)
t = re.sub(r'"date": "[^"]*"', '"date": T', t)
t = re.sub(r'"seconds": \{[^}]*\}', '"seconds": T', t)
t = re.sub(r'"seconds": [-0-9.e+]+', '"seconds": T', t)
t = re.sub(r'\b\d+\.\d+ s\b', 'T s', t)
t = re.sub(r'Process name: \[\[\d+,1\],\d+\]', 'Process name: P', t)
def ev(m):
    rows = json.loads(m.group(1))
    for r in rows:
        if len(r) > 5: r[3] = r[4] = r[5] = 0
    return '"eval": ' + json.dumps(rows)
t = re.sub(r'"eval": (\[\[.*?\]\])(?=, "(?:layers|rank)")', ev, t)
# tables: the s/image column last
t = re.sub(r'(\(\d+\.\d+\)) +\d+\.\d+\n', r'\1 T\n', t)
t = re.sub(r'\| \d+\.\d+ \|\n', '| T |\n', t)
sys.stdout.write(t)
