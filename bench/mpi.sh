#!/bin/sh
# make bench-mpi: images per minute of `dmbp explain -O` over the shipped
# samples (each listed REPEAT times under its own name), gxi and DMBP, one
# thread per rank: one process without MPI, then mpirun -np 1 and -np 2.
# Also what rank 0 pays per image: manifest bytes and one appended,
# fsync'ed line. Prints a Markdown table (docs/cluster.md quotes it).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
DMBP="$top_builddir/dmbp"
MODEL="$top_srcdir/models/fmnist_vgg.onnx"
REPEAT=${REPEAT:-3}
export OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmbp-bench-mpi.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

command -v mpirun >/dev/null 2>&1 || { echo "bench-mpi: no mpirun (apt-get install openmpi-bin)"; exit 1; }

# The set: every sample REPEAT times, as distinct files.
mkdir "$TMP/in"
for r in $(seq 1 "$REPEAT"); do
    for f in "$top_srcdir"/models/samples/*.png; do
        ln -s "$f" "$TMP/in/r$r-$(basename "$f")"
    done
done
ls "$TMP"/in/*.png >"$TMP/list"
n=$(wc -l <"$TMP/list")

now() { date +%s.%N; }

# run NAME LAUNCH... -- METHOD ARGS: seconds of one run over the set.
run() {
    out="$TMP/out-$1"; shift
    rm -rf "$out"
    t0=$(now)
    "$@" -O "$out" --images "$TMP/list" --quiet >/dev/null 2>"$TMP/err" ||
        { echo "bench-mpi: failed: $*" >&2; cat "$TMP/err" >&2; exit 1; }
    t1=$(now)
    echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}'
}

echo "| method | how | images | seconds | images/min | vs one process |"
echo "|---|---|---|---|---|---|"
for m in gxi dmbp; do
    base=""
    for how in "one process" "mpirun -np 1" "mpirun -np 2"; do
        case "$how" in
        "one process") s=$(run "$m-1" "$DMBP" explain "$MODEL" --method "$m") ;;
        "mpirun -np 1") s=$(run "$m-m1" mpirun --oversubscribe -np 1 "$DMBP" explain "$MODEL" --method "$m") ;;
        *) s=$(run "$m-m2" mpirun --oversubscribe -np 2 "$DMBP" explain "$MODEL" --method "$m") ;;
        esac
        rate=$(echo "$n $s" | awk '{printf "%.1f", $1 * 60 / $2}')
        [ -n "$base" ] || base=$rate
        ratio=$(echo "$rate $base" | awk '{printf "%.2f", $1 / $2}')
        echo "| $m | $how | $n | $s | $rate | $ratio |"
    done
done

# Rank 0's share per image: the bytes of its manifest line (what the
# worker sends it, plus a few bytes of request and chunk), and one
# appended, fsync'ed line on this file system.
bytes=$(awk '{s += length($0) + 1} END {printf "%.0f", s / NR}' "$TMP/out-dmbp-m2/manifest.jsonl")
gbytes=$(awk '{s += length($0) + 1} END {printf "%.0f", s / NR}' "$TMP/out-gxi-m2/manifest.jsonl")
fsync_ms=$(/usr/bin/python3 - "$TMP/fsync" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
line = b"x" * 400 + b"\n"
t = time.perf_counter()
for _ in range(200):
    os.write(fd, line)
    os.fsync(fd)
print("%.3f" % ((time.perf_counter() - t) / 200 * 1000))
EOF
)
echo
echo "manifest line: gxi $gbytes bytes, dmbp $bytes bytes per image; one appended fsync'ed line: $fsync_ms ms"
echo "(shared machine: other jobs ran meanwhile; timings are indicative only)"
