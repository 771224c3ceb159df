#!/bin/sh
# The option parser every subcommand shares (src/cli/opts.c): getopt_long's
# conventions, a value never taken from a word that names an option,
# per-subcommand --help, suggestions, the same names everywhere, and
# `dmbp --help`, dmbp(1) and the README listing the same options.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

VGG="$MODELS/fmnist_vgg.onnx"
PNG="$MODELS/samples/bag.png"
W="$TMP/work"
mkdir "$W"

# A value-taking option does not swallow the next option (issue 10's first
# two examples): a usage error, and no file named after the option.
cp "$PNG" "$W/coat.png"
ls "$MODELS/samples/"*.png | head -3 >"$W/list"
(cd "$W" && refused 2 "--csv: missing value" "--csv --quiet" -- \
    "$DMBP" eval "$VGG" --images list --methods gxi --n 2 --csv --quiet)
[ ! -e "$W/--quiet" ] || fail "--csv --quiet: wrote a file named --quiet"
(cd "$W" && refused 2 "-o: missing value" "-o --json" -- \
    "$DMBP" explain "$VGG" coat.png --method gxi -o --json)
[ -z "$(ls "$W" | grep -v -e '^coat.png$' -e '^list$')" ] || fail "-o --json: left files: $(ls "$W")"
refused 2 "--top: missing value" "--top at the end" -- "$DMBP" predict "$VGG" "$PNG" --top
refused 2 "--labels: missing value" "--labels --json" -- "$DMBP" predict "$VGG" "$PNG" --labels --json
refused 2 "--target: missing value" "--target -o" -- "$DMBP" explain "$VGG" "$PNG" --target -o "$W/x"

# Negative numbers stay values: --init-logit -2 (and the --opt=value form).
expect_exit 0 "--init-logit -2" -- "$DMBP" explain "$VGG" "$PNG" --iters 1 --init-logit -2 --quiet -o "$W/neg"
[ -s "$W/neg.png" ] || fail "--init-logit -2: no picture"
expect_exit 0 "--init-logit=-2" -- "$DMBP" explain "$VGG" "$PNG" --iters 1 --init-logit=-2 --quiet -o "$W/neg2" --force
refused 2 "--iters '-3'" "--iters -3" -- "$DMBP" explain "$VGG" "$PNG" --iters -3

# --opt=value is --opt value.
expect_exit 0 "--top=2" -- "$DMBP" predict "$VGG" "$PNG" --top=2
[ "$(wc -l <"$TMP/out")" -eq 3 ] || fail "--top=2: $(cat "$TMP/out")"
expect_exit 0 "--top 2" -- "$DMBP" predict "$VGG" "$PNG" --top 2
[ "$(wc -l <"$TMP/out")" -eq 3 ] || fail "--top 2: $(cat "$TMP/out")"
refused 2 "--json takes no value" "--json=yes" -- "$DMBP" predict "$VGG" "$PNG" --json=yes
refused 2 "--labels: the name is empty" "empty --labels=" -- "$DMBP" predict "$VGG" "$PNG" --labels=
# Short options take their value attached or apart.
expect_exit 0 "-o attached" -- "$DMBP" explain "$VGG" "$PNG" --method gxi "-o$W/att"
[ -s "$W/att.png" ] || fail "-oPREFIX: no $W/att.png"

# -- ends the options: a file whose name starts with '-'.
cp "$PNG" "$W/-dash.png"
(cd "$W" && expect_exit 0 "-- then -dash.png" -- "$DMBP" predict "$VGG" --top 1 -- -dash.png)
grep -q "^-dash.png" "$TMP/out" || fail "--: the image -dash.png was not classified: $(cat "$TMP/out")"
(cd "$W" && refused 2 "unknown option '-dash.png'" "-dash.png without --" -- "$DMBP" predict "$VGG" -dash.png)

# Every subcommand has --help and -h: its usage on stdout, status 0, even
# after a bad option.
for sub in info predict explain masks eval; do
    for h in --help -h; do
        expect_exit 0 "$sub $h" -- "$DMBP" $sub $h
        grep -q "^usage: dmbp $sub " "$TMP/out" || fail "$sub $h: no usage: $(head -2 "$TMP/out")"
        [ ! -s "$TMP/err" ] || fail "$sub $h: stderr: $(cat "$TMP/err")"
    done
done
expect_exit 0 "explain --bogus --help" -- "$DMBP" explain --bogus --help
grep -q -- "--method" "$TMP/out" || fail "explain --help lacks --method"
grep -q -- "--fpmath" "$TMP/out" || fail "explain --help lacks --fpmath"
expect_exit 0 "predict --help" -- "$DMBP" predict --help
grep -q -- "--method" "$TMP/out" && fail "predict --help lists explain's --method"

# An unknown option names the nearest one; another subcommand's option
# says whose it is.
refused 2 "did you mean --method?" "--metod" -- "$DMBP" explain "$VGG" "$PNG" --metod gxi
refused 2 "did you mean --labels?" "--lables" -- "$DMBP" predict "$VGG" "$PNG" --lables x
refused 2 "--layers is an option of info only" "predict --layers" -- "$DMBP" predict "$VGG" "$PNG" --layers
refused 2 "unknown option '--zzzzzz'" "far from everything" -- "$DMBP" info "$VGG" --zzzzzz

# The same names everywhere: --quiet and --json in every subcommand,
# --threads and --fpmath wherever the network runs, --labels wherever
# labels are printed; eval's JSON file is --json-out.
expect_exit 0 "info --quiet" -- "$DMBP" info "$VGG" --quiet
expect_exit 0 "predict --quiet --threads 1 --fpmath strict" -- "$DMBP" predict "$VGG" "$PNG" --quiet --threads 1 --fpmath strict
ls "$MODELS/samples/"*.png | head -2 >"$TMP/list"
expect_exit 0 "eval --json" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi --randomization-images 0 --json --quiet --json-out "$W/e.json"
head -c 1 "$TMP/out" | grep -q '{' || fail "eval --json: stdout is not JSON: $(head -2 "$TMP/out")"
[ -s "$W/e.json" ] || fail "eval --json-out: no file"
refused 2 "--json takes no value" "eval --json=FILE" -- "$DMBP" eval "$VGG" --images "$TMP/list" --json="$W/x.json"
refused 2 "--threads '0'" "--threads 0" -- "$DMBP" predict "$VGG" "$PNG" --threads 0

# dmbp --help, dmbp(1) and the README list the same options.
"$DMBP" --help >"$TMP/help" || fail "dmbp --help: non-zero status"
opts=$(grep -o -e '^  -., --[a-z0-9-]*' -e '^      --[a-z0-9-]*' "$TMP/help" | sed 's/.*--/--/' | sort -u)
[ "$(echo "$opts" | wc -l)" -gt 40 ] || fail "dmbp --help lists only $(echo "$opts" | wc -l) options"
for o in $opts; do
    man=$(echo "$o" | sed 's/-/\\\\-/g')
    grep -q -- "$man\b" "$top_srcdir/man/dmbp.1" || fail "dmbp(1) does not document $o"
    grep -q -- "$o\b" "$top_srcdir/README.md" || fail "README.md does not list $o"
done

# dmbp(1)'s OPTIONS list is the table's: every option with its short
# name, its argument's form, the methods and the commands of --help
# (tools/manopts.sh writes it; it had drifted: --plugin, --tol and
# --max-memory were missing, render's options named no render).
sh "$top_srcdir/tools/manopts.sh" --check "$DMBP" >"$TMP/manopts" 2>&1 ||
    fail "dmbp(1)'s OPTIONS differ from dmbp --help: $(head -20 "$TMP/manopts")"

# One vocabulary (issue #25 item 4): eval's curve steps are --curve-steps
# (--steps are IG's in explain), masks writes with -o as explain does;
# the old spellings work for one release with one warning line.
expect_exit 0 "eval --curve-steps" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi --randomization-images 0 --quiet --curve-steps 4 --json-out "$W/cs.json" --csv "$W/cs.csv"
grep -q '"steps": 4' "$W/cs.json" || fail "eval --curve-steps 4: $(grep -o '"steps": [0-9]*' "$W/cs.json")"
expect_exit 0 "eval --steps (deprecated)" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi --randomization-images 0 --quiet --steps 4 --csv "$W/cs2.csv"
grep -q "eval --steps is deprecated.*--curve-steps" "$TMP/err" || fail "eval --steps: no deprecation warning: $(cat "$TMP/err")"
cmp -s "$W/cs.csv" "$W/cs2.csv" || fail "eval --steps and --curve-steps differ"
expect_exit 0 "masks -o" -- "$DMBP" masks "$VGG" "$PNG" --iters 1 --quiet -o "$W/mo.json"
[ -s "$W/mo.json" ] || fail "masks -o: no $W/mo.json"
expect_exit 0 "masks --out (deprecated)" -- "$DMBP" masks "$VGG" "$PNG" --iters 1 --quiet --out "$W/mo2.json"
[ -s "$W/mo2.json" ] && grep -q "masks --out is deprecated.*-o (--output)" "$TMP/err" ||
    fail "masks --out: $(cat "$TMP/err")"
# eval's reports: -O DIR writes them all beside the manifest, -o PREFIX
# all with PREFIX, an option of their own still names one.
expect_exit 0 "eval -O" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi --randomization-images 0 --quiet -O "$W/ev" --csv "$W/own.csv"
for f in eval.json eval.svg eval.md manifest.jsonl; do
    [ -s "$W/ev/$f" ] || fail "eval -O: no $f in DIR: $(ls "$W/ev")"
done
[ -s "$W/own.csv" ] && [ ! -e "$W/ev/eval.csv" ] || fail "eval -O --csv FILE: the CSV not where --csv said"
expect_exit 0 "eval -o" -- "$DMBP" eval "$VGG" --images "$TMP/list" --methods gxi --randomization-images 0 --quiet -o "$W/rep"
for f in rep.csv rep.json rep.svg rep.md; do
    [ -s "$W/$f" ] || fail "eval -o PREFIX: no $f"
done
# A mistyped command names the nearest one.
refused 2 "did you mean explain?" "dmbp explian" -- "$DMBP" explian "$VGG" "$PNG"
refused 2 "did you mean eval?" "dmbp evl" -- "$DMBP" evl "$VGG"
refused 2 "commands: info, predict" "dmbp zzzzzzzz" -- "$DMBP" zzzzzzzz

# Every exit status of dmbp(1)'s EXIT STATUS is in --help (8, 130 and 143
# were in the man page only).
for code in $(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$top_srcdir/man/dmbp.1" |
              grep -E '^\.(B|BR) [0-9]' | grep -oE '[0-9]+' | sort -un); do
    grep -qE "(^|[ ,/])$code( |/|$)" "$TMP/help" ||
        fail "dmbp --help does not name exit status $code (dmbp(1) does)"
done
# eval takes --images SPEC, no IMAGE arguments: its help does not describe them.
"$DMBP" eval --help >"$TMP/ehelp" || fail "dmbp eval --help: non-zero status"
grep -q '^IMAGE:' "$TMP/ehelp" && fail "dmbp eval --help describes IMAGE arguments, which eval does not take"
# info says "(? = dynamic)" only when the input has a dynamic dimension.
"$DMBP" info "$top_srcdir/tests/ref/data/pre/static28.onnx" >"$TMP/info" || fail "info static28.onnx failed"
grep -q 'dynamic' "$TMP/info" && fail "info: '(? = dynamic)' for a model without a dynamic dimension: $(grep input "$TMP/info")"
"$DMBP" info "$VGG" | grep -q '? = dynamic' || fail "info: no '(? = dynamic)' for a model with a dynamic batch"
finish
