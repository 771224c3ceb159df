#!/bin/sh
# The Python package (python/dmbp) under pytest (tests/python/), against the
# library of this build tree. Skipped (exit 77, saying why) without Python,
# pytest or numpy (Debian: python3-pytest, python3-numpy); the tests that
# need torch skip themselves without python3-torch.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
if [ "$PYTHON" = : ] || ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "SKIP: no Python (configure found none)"; exit 77
fi
for mod in pytest numpy; do
    if ! "$PYTHON" -c "import $mod" 2>/dev/null; then
        echo "SKIP: $PYTHON has no $mod (apt-get install python3-$mod)"
        exit 77
    fi
done
DMBP_LIBRARY="$top_builddir/src/.libs/libdmbp.so.1"
# A sanitizer build (make check-asan) cannot be loaded into Debian's python3,
# which is not built with the sanitizer's runtime ("ASan runtime does not
# come first"); preloading the runtime into torch's process crashes it.
if command -v ldd >/dev/null 2>&1 &&
   ldd "$DMBP_LIBRARY" 2>/dev/null | grep -q 'libasan'; then
    echo "SKIP: the library is built with AddressSanitizer (make check-asan): python3 cannot load it"
    exit 77
fi
DMBP_PROGRAM="$top_builddir/dmbp"
PYTHONPATH="$top_srcdir/python${PYTHONPATH:+:$PYTHONPATH}"
export DMBP_LIBRARY DMBP_PROGRAM PYTHONPATH top_srcdir top_builddir
# Waiting OpenMP threads sleep, as the dmbp program makes them (see
# src/cli/main.c): make check runs tests side by side on few cores.
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}; export OMP_WAIT_POLICY
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}; export OMP_NUM_THREADS
exec "$PYTHON" -m pytest -q -p no:cacheprovider -rs "$top_srcdir/tests/python"
