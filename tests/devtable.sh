#!/bin/sh
# docs/files.md's file table lists every source file of src/ and nothing
# that is gone (tools/devtable.sh --check; run tools/devtable.sh to
# refresh it after adding, moving or removing a file).
top_srcdir=${top_srcdir:-.}
export top_srcdir
exec sh "$top_srcdir/tools/devtable.sh" --check
