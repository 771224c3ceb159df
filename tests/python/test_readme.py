"""The README's Python example runs as written from the build tree (with
PYTHONPATH=python, as the README says; make check's PYTHONPATH is that) in
a directory holding the README's paths, and prints what it says."""
import os
import re
import subprocess
import sys

from conftest import BUILDDIR, SRCDIR


def readme_example():
    with open(os.path.join(SRCDIR, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- python-example -->\n```python\n(.*?)```", text,
                  re.S)
    assert m, "README.md has no python-example block"
    return m.group(1)


def test_readme_example(tmp_path):
    code = readme_example()
    assert len(code.strip().splitlines()) == 5
    os.symlink(os.path.join(SRCDIR, "models"), tmp_path / "models")
    (tmp_path / "example.py").write_text(code)
    env = dict(os.environ, PYTHONPATH=os.path.join(SRCDIR, "python"))
    # Built in the source tree: the package finds src/.libs by itself, as
    # the README says (DMBP_LIBRARY only for a build elsewhere).
    if os.path.realpath(SRCDIR) == os.path.realpath(BUILDDIR):
        env.pop("DMBP_LIBRARY", None)
    p = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert re.match(r"square F\+ [-0-9.e]+ F- [-0-9.e]+ \(1, 3, 64, 64\)$",
                    p.stdout.strip()), p.stdout
    with open(tmp_path / "test_00005-py.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
