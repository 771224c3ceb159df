#!/bin/bash
# VGG.md: join the test runs made in two parts (the first images in A, the
# rest with --offset in B; eval's index column is the absolute image index)
# into OUT/<model>.csv for rr_pairs.py / vgg_pairs.py.
# Usage: vgg_merge.sh A B OUT
set -e
mkdir -p "$3"
for f in "$1"/*.csv; do
  n=$(basename "$f")
  if [ -f "$2/$n" ]; then
    { cat "$f"; tail -n +2 "$2/$n"; } > "$3/$n"
  else
    cp "$f" "$3/$n"
  fi
done
