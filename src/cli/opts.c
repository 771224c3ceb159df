/* One option parser for every subcommand, driven by the CLI_OPTIONS table
 * (opts.h): getopt_long's conventions (--opt=value, --opt value, -o value,
 * -ovalue, -- ends the options), with two rules that getopt lacks: a value
 * is never a word naming a known option (so `-o --json` is a missing value,
 * not a file called --json), and an unknown option names the nearest
 * known one. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct cli_opt {
    const char *name;
    char short_name;
    cli_kind kind;
    size_t offset;        /* of the value in cli_flags */
    long long lo, hi;     /* K_INT bounds */
    const char *choices;  /* K_CHOICE: "a|b|c" */
    unsigned commands, methods;
    const char *arg, *help;
} cli_opt;

static const cli_opt table[CLI_O_COUNT] = {
#define CLI_OPT_ROW(ID, NAME, SH, KIND, TYPE, FIELD, LO, HI, CHOICES, CMDS, \
                    METHODS, ARG, HELP)                                     \
    [CLI_O_##ID] = {NAME,    SH,   KIND, offsetof(cli_flags, FIELD),        \
                    LO,      HI,   CHOICES, CMDS,                           \
                    METHODS, ARG,  HELP},
    CLI_OPTIONS(CLI_OPT_ROW)
#undef CLI_OPT_ROW
};

static const struct {
    unsigned cmd;
    const char *name, *synopsis, *what;
} commands[] = {
    {CMD_INFO, "info", "MODEL",
     "inputs, outputs, ops, parameters, preprocessing defaults"},
    {CMD_PREDICT, "predict", "MODEL IMAGE...", "classify images"},
    {CMD_EXPLAIN, "explain", "MODEL IMAGE...",
     "attribution maps: per image a picture (.png) and the array (.npy)"},
    {CMD_MASKS, "masks", "MODEL IMAGE",
     "DMBP's filter masks as JSON, and the filters per layer with the "
     "largest m+ and m-"},
    {CMD_EVAL, "eval", "MODEL --images SPEC",
     "faithfulness of the methods: deletion and insertion AUC, negative "
     "evidence, AOPC, model randomisation; with -O DIR each image's numbers "
     "are recorded in DIR/manifest.jsonl and --resume computes only the "
     "images not done"},
    {CMD_RENDER, "render", "FILE.npy --image IMAGE --model MODEL",
     "explain's pictures again from its .npy, without recomputing"},
    {CMD_REPORT, "report", "DIR",
     "DIR/index.html: the pictures of the image sets in DIR and its "
     "subdirectories side by side, one column per method, with eval's "
     "tables and curves"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* Longest option name we suggest against (longer words are not typos). */
#define MAX_NAME 64

static const char *command_name(unsigned cmd)
{
    for (size_t k = 0; k < N_COMMANDS; k++)
        if (commands[k].cmd == cmd)
            return commands[k].name;
    return "dmbp";
}

/* ------------------------------------------------------------------ */
/* Help                                                               */
/* ------------------------------------------------------------------ */

/* "a, b or c": the method names in mask. */
static void method_list(unsigned mask, const char *last_sep, char *buf,
                        size_t cap)
{
    int total = 0, k = 0;
    for (int m = 0; m < DMBP_NUM_METHODS; m++)
        total += (mask >> m) & 1;
    buf[0] = 0;
    for (int m = 0; m < DMBP_NUM_METHODS; m++) {
        if (!((mask >> m) & 1))
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s",
                 k == 0 ? "" : k + 1 == total ? last_sep : ", ",
                 dmbp_method_name((dmbp_method)m));
        k++;
    }
}

static void option_line(FILE *f, const cli_opt *o, unsigned cmd)
{
    char head[96];
    int len;
    if (o->short_name)
        len = snprintf(head, sizeof head, "  -%c, --%s", o->short_name,
                       o->name);
    else
        len = snprintf(head, sizeof head, "      --%s", o->name);
    if (o->arg && len < (int)sizeof head)
        snprintf(head + len, sizeof head - (size_t)len, " %s", o->arg);
    fprintf(f, "%-29s  %s", head, o->help); /* two spaces: tools/manopts.sh */
    if (o->methods && o->methods != MB_ALL) {
        char list[128];
        method_list(o->methods, " and ", list, sizeof list);
        fprintf(f, " [%s]", list);
    }
    if (!cmd) {
        fputs(" {", f);
        int k = 0;
        for (size_t c = 0; c < N_COMMANDS; c++)
            if (o->commands & commands[c].cmd)
                fprintf(f, "%s%s", k++ ? " " : "", commands[c].name);
        fputs("}", f);
    }
    fputc('\n', f);
}

static const char *const image_note =
    "IMAGE: a PNG or JPEG file, a directory (its PNG and JPEG files in\n"
    "sorted order, *.truth.png excepted) or - (one image on standard "
    "input).\n";

static const char *const exit_note =
    "Exit status: 0 success, 1 internal error, 2 usage, 3 I/O,\n"
    "4 bad file format, 5 unsupported model, 6 size mismatch,\n"
    "7 NaN or infinity, 8 an image set with failed images,\n"
    "130/143 interrupted (SIGINT/SIGTERM). See dmbp(1).\n";

void cli_usage(FILE *f, unsigned cmd)
{
    if (cmd) {
        for (size_t k = 0; k < N_COMMANDS; k++)
            if (commands[k].cmd == cmd)
                fprintf(f, "usage: dmbp %s %s [OPTIONS]\n%s.\n\n",
                        commands[k].name, commands[k].synopsis,
                        commands[k].what);
        /* eval takes --images SPEC, not IMAGE arguments. */
        if (cmd != CMD_INFO && cmd != CMD_EVAL && cmd != CMD_REPORT)
            fprintf(f, "%s\n", image_note);
        if (cmd == CMD_EXPLAIN)
            fputs("Outputs: <stem>-<method>.png and .npy in the current\n"
                  "directory (DMBP adds -pos.png, -neg.png, -mappings.png),\n"
                  "DIR/<stem>-<method>... with -O DIR; -o PREFIX for one\n"
                  "image, PREFIX-NN-<stem> for several. Existing files are\n"
                  "not overwritten without --force.\n\n",
                  f);
        fputs("Options:\n", f);
        for (int i = 0; i < CLI_O_COUNT; i++)
            if (table[i].commands & cmd)
                option_line(f, &table[i], cmd);
        fprintf(f, "\n%s", exit_note);
        return;
    }
    fputs("usage: dmbp COMMAND [ARGS] [OPTIONS]\n\nCommands:\n", f);
    for (size_t k = 0; k < N_COMMANDS; k++)
        fprintf(f, "  %-8s %-20s %s\n", commands[k].name,
                commands[k].synopsis, commands[k].what);
    fprintf(f, "\n%s\n", image_note);
    fputs("`dmbp COMMAND --help` shows one command's options. Every option,\n"
          "[the methods it applies to] and {the commands that take it}:\n",
          f);
    for (int i = 0; i < CLI_O_COUNT; i++)
        option_line(f, &table[i], 0);
    fputs("  -V, --version                 the version\n\n", f);
    fputs(exit_note, f);
}

const char *cli_choice(int id, int index, char *buf, size_t cap)
{
    const char *c = table[id].choices;
    for (int k = 0; c && k < index; k++) {
        c = strchr(c, '|');
        if (c)
            c++;
    }
    if (!c) {
        buf[0] = 0;
        return buf;
    }
    size_t len = strcspn(c, "|");
    snprintf(buf, cap, "%.*s", (int)len, c);
    return buf;
}

const char *cli_option_name(int id)
{
    return table[id].name;
}

void cli_option_text(const cli_flags *f, int id, char *buf, size_t cap)
{
    const void *v = (const char *)f + table[id].offset;
    switch (table[id].kind) {
    case K_SWITCH: snprintf(buf, cap, "%s", *(const bool *)v ? "on" : "off");
        break;
    case K_STRING: case K_NAME: {
        const char *s = *(const char *const *)v;
        snprintf(buf, cap, "%s", s ? s : "");
        break;
    }
    case K_INT: snprintf(buf, cap, "%d", *(const int *)v); break;
    case K_U64:
        snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)v);
        break;
    case K_FLOAT: case K_FLOAT_POS: case K_FLOAT_NONNEG: {
        /* The shortest of 6 or 9 digits that reads back as the float. */
        float x = *(const float *)v;
        snprintf(buf, cap, "%g", (double)x);
        if (strtof(buf, NULL) != x)
            snprintf(buf, cap, "%.9g", (double)x);
        break;
    }
    case K_FLOAT3: {
        const float *x = v;
        snprintf(buf, cap, "%.9g,%.9g,%.9g", (double)x[0], (double)x[1],
                 (double)x[2]);
        break;
    }
    case K_CHOICE: cli_choice(id, *(const int *)v, buf, cap); break;
    }
}

/* ------------------------------------------------------------------ */
/* Parsing                                                            */
/* ------------------------------------------------------------------ */

/* The row of --name (len bytes) for cmd, or -1. */
static int find_long(unsigned cmd, const char *name, size_t len)
{
    for (int i = 0; i < CLI_O_COUNT; i++)
        if ((table[i].commands & cmd) && strlen(table[i].name) == len &&
            !strncmp(table[i].name, name, len))
            return i;
    return -1;
}

/* Old spellings, accepted for one release with a warning on standard
 * error (dmbp(1), DEPRECATED): the subcommands, the old long name, the
 * option it now is. */
static const struct deprecated {
    unsigned commands;
    const char *old;
    int id;
} deprecated[] = {
    {CMD_EVAL, "steps", CLI_O_CURVE_STEPS}, /* explain's --steps are IG's */
    {CMD_MASKS, "out", CLI_O_OUTPUT},       /* -o, as explain's */
};

/* The option an old spelling of cmd stands for (warning printed), or -1. */
static int find_deprecated(unsigned cmd, const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof deprecated / sizeof *deprecated; i++)
        if ((deprecated[i].commands & cmd) &&
            strlen(deprecated[i].old) == len &&
            !strncmp(deprecated[i].old, name, len)) {
            int id = deprecated[i].id;
            char now[MAX_NAME + 16];
            if (table[id].short_name)
                snprintf(now, sizeof now, "-%c (--%s)", table[id].short_name,
                         table[id].name);
            else
                snprintf(now, sizeof now, "--%s", table[id].name);
            fprintf(stderr, "dmbp: warning: %s --%s is deprecated and goes "
                    "in the next release: use %s\n", command_name(cmd),
                    deprecated[i].old, now);
            return id;
        }
    return -1;
}

static int find_short(unsigned cmd, char c)
{
    for (int i = 0; i < CLI_O_COUNT; i++)
        if ((table[i].commands & cmd) && table[i].short_name == c)
            return i;
    return -1;
}

/* Does word name an option of any subcommand (so it cannot be a value)? */
static bool names_option(const char *w)
{
    if (w[0] != '-' || !w[1])
        return false;
    if (w[1] != '-')
        return w[1] == 'V' || find_short(CMD_ALL, w[1]) >= 0;
    if (!w[2])
        return true; /* "--" */
    size_t len = strcspn(w + 2, "=");
    return find_long(CMD_ALL, w + 2, len) >= 0 ||
           (len == 7 && !strncmp(w + 2, "version", 7));
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAX_NAME || lb > MAX_NAME)
        return MAX_NAME;
    int d[MAX_NAME + 1][MAX_NAME + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins)
                                : (del < ins ? del : ins);
        }
    return d[la][lb];
}

int cli_unknown_command(const char *word)
{
    const char *best = NULL;
    int best_d = MAX_NAME;
    for (size_t k = 0; k < N_COMMANDS; k++) {
        int d = edit_distance(word, commands[k].name);
        if (d < best_d) {
            best_d = d;
            best = commands[k].name;
        }
    }
    /* As for options: about one edit in three letters is a typo. */
    if (best && best_d <= (int)strlen(word) / 3 + 1)
        return cli_usage_error("unknown command '%s'; did you mean %s?", word,
                               best);
    return cli_usage_error("unknown command '%s' (commands: info, predict, "
                           "explain, masks, eval, render, report)", word);
}

static int unknown_option(unsigned cmd, const char *word)
{
    const char *cname = command_name(cmd);
    char name[MAX_NAME + 1];
    const char *w = word[1] == '-' ? word + 2 : word + 1;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(w, "="), w);
    if (word[1] == '-') {
        /* Another subcommand's option: say whose. */
        for (int i = 0; i < CLI_O_COUNT; i++)
            if (!strcmp(table[i].name, name)) {
                char who[64] = "";
                for (size_t c = 0; c < N_COMMANDS; c++)
                    if (table[i].commands & commands[c].cmd) {
                        size_t len = strlen(who);
                        snprintf(who + len, sizeof who - len, "%s%s",
                                 len ? ", " : "", commands[c].name);
                    }
                return cli_usage_error("%s: --%s is an option of %s only",
                                       cname, name, who);
            }
    }
    int best = -1, best_d = MAX_NAME;
    for (int i = 0; i < CLI_O_COUNT; i++) {
        if (!(table[i].commands & cmd))
            continue;
        int d = edit_distance(name, table[i].name);
        /* A prefix counts as close: --out for --output. */
        if (!strncmp(table[i].name, name, strlen(name)) && strlen(name) > 1)
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = i;
        }
    }
    int allowed = (int)strlen(name) / 3 + 1;
    if (best >= 0 && best_d <= allowed)
        return cli_usage_error("%s: unknown option '%s'; did you mean --%s?",
                               cname, word, table[best].name);
    return cli_usage_error("%s: unknown option '%s' (dmbp %s --help lists "
                           "them)", cname, word, cname);
}

static bool parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (end == s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Store v into option i's field; usage error on a bad value. */
static int set_value(cli_flags *f, int i, const char *shown, const char *v)
{
    const cli_opt *o = &table[i];
    void *p = (char *)f + o->offset;
    switch (o->kind) {
    case K_SWITCH:
        *(bool *)p = true;
        break;
    case K_NAME:
        if (!*v)
            return cli_usage_error("%s: the name is empty", shown);
        /* fall through */
    case K_STRING:
        *(const char **)p = v;
        break;
    case K_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (end == v || *end || errno || x < o->lo || x > o->hi)
            return cli_usage_error("%s '%s': expected an integer from %lld "
                                   "to %lld", shown, v, o->lo, o->hi);
        *(int *)p = (int)x;
        break;
    }
    case K_U64:
        if (!cli_parse_u64(v, (uint64_t *)p))
            return cli_usage_error("%s '%s': expected an integer from 0 to "
                                   "%llu", shown, v,
                                   (unsigned long long)UINT64_MAX);
        break;
    case K_FLOAT:
    case K_FLOAT_POS:
    case K_FLOAT_NONNEG: {
        float x;
        bool ok = parse_float(v, &x);
        if (ok && o->kind == K_FLOAT_POS && !(x > 0))
            ok = false;
        if (ok && o->kind == K_FLOAT_NONNEG && !(x >= 0))
            ok = false;
        if (!ok)
            return cli_usage_error(
                "%s '%s': expected a finite number%s", shown, v,
                o->kind == K_FLOAT_POS      ? " > 0"
                : o->kind == K_FLOAT_NONNEG ? " >= 0"
                                            : "");
        *(float *)p = x;
        break;
    }
    case K_FLOAT3: {
        float *dst = p;
        if (!cli_parse_floats3(v, dst))
            return cli_usage_error("%s '%s': expected 1 or 3 finite numbers "
                                   "separated by commas", shown, v);
        if (i == CLI_O_STD && (dst[0] == 0 || dst[1] == 0 || dst[2] == 0))
            return cli_usage_error("%s '%s': a standard deviation cannot be "
                                   "0", shown, v);
        break;
    }
    case K_CHOICE: {
        char buf[64];
        for (int k = 0;; k++) {
            cli_choice(i, k, buf, sizeof buf);
            if (!buf[0]) {
                char list[160];
                snprintf(list, sizeof list, "%s", o->choices);
                for (char *c = list; *c; c++)
                    if (*c == '|')
                        *c = ',';
                return cli_usage_error("%s '%s': expected one of %s", shown,
                                       v, list);
            }
            if (!strcmp(buf, v)) {
                *(int *)p = k;
                break;
            }
        }
        break;
    }
    }
    f->given[i] = true;
    return EXIT_OK;
}

void cli_args_free(cli_args *a)
{
    for (size_t k = 0; k < sizeof a->owned / sizeof *a->owned; k++) {
        free(a->owned[k]);
        a->owned[k] = NULL;
    }
    free(a->pos);
    a->pos = NULL;
    a->n_pos = 0;
}

/* eval's reports from -o PREFIX (PREFIX.csv, .json, .svg, .md) or -O DIR
 * (DIR/eval.csv, ...): every one not named by its own option. */
static int eval_reports(cli_args *a)
{
    cli_flags *f = &a->f;
    if (f->output && f->output_dir)
        return cli_usage_error("eval: -o and -O (--output-dir) exclude each "
                               "other");
    const char *base = f->output ? f->output : f->output_dir;
    if (!base)
        return EXIT_OK;
    const char **field[4] = {&f->csv, &f->json_out, &f->plot, &f->markdown};
    static const char *const tail[2][4] = {
        {".csv", ".json", ".svg", ".md"},                          /* -o */
        {"/eval.csv", "/eval.json", "/eval.svg", "/eval.md"}};     /* -O */
    for (int k = 0; k < 4; k++) {
        if (*field[k])
            continue;
        const char *t = tail[f->output ? 0 : 1][k];
        size_t len = strlen(base) + strlen(t) + 1;
        if (!(a->owned[k] = malloc(len)))
            return cli_oom();
        snprintf(a->owned[k], len, "%s%s", base, t);
        *field[k] = a->owned[k];
    }
    return EXIT_OK;
}

int cli_args_parse(unsigned cmd, int argc, char **argv, cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->cmd_name = command_name(cmd);
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->pos) {
        return cli_oom();
    }
    /* --help wins over anything else on the line, even a bad option. */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli_usage(stdout, cmd);
            return -1;
        }
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (!options_done && !strcmp(w, "--")) {
            options_done = true;
            continue;
        }
        if (options_done || w[0] != '-' || !w[1]) {
            a->pos[a->n_pos++] = w;
            continue;
        }
        int k;
        const char *v = NULL;
        char shown[MAX_NAME + 4];
        if (w[1] == '-') {
            size_t len = strcspn(w + 2, "=");
            k = find_long(cmd, w + 2, len);
            if (k < 0)
                k = find_deprecated(cmd, w + 2, len);
            if (w[2 + len] == '=')
                v = w + 3 + len;
            snprintf(shown, sizeof shown, "--%.*s", (int)len, w + 2);
        } else {
            k = find_short(cmd, w[1]);
            if (w[2])
                v = w + 2; /* -oPREFIX */
            snprintf(shown, sizeof shown, "-%c", w[1]);
        }
        if (k < 0)
            return unknown_option(cmd, w);
        if (table[k].kind == K_SWITCH) {
            if (v)
                return cli_usage_error("%s takes no value ('%s')", shown, w);
        } else if (!v) {
            if (i + 1 >= argc)
                return cli_usage_error("%s: missing value", shown);
            if (names_option(argv[i + 1]))
                return cli_usage_error("%s: missing value ('%s' is an "
                                       "option; write --%s=%s if you mean "
                                       "it)", shown, argv[i + 1],
                                       table[k].name, argv[i + 1]);
            v = argv[++i];
        }
        int rc = set_value(&a->f, k, shown, v);
        if (rc)
            return rc;
    }
    if (!a->f.output_dir && (a->f.resume || a->f.max_failures || a->f.chunk))
        return cli_usage_error("--resume, --max-failures and --chunk need "
                               "--output-dir");
    int rc = cmd == CMD_EVAL ? eval_reports(a) : EXIT_OK;
    if (rc)
        return rc;
    if (a->f.given[CLI_O_MAX_MEMORY] &&
        !cli_parse_size(a->f.max_memory, &cli_max_memory))
        return cli_usage_error("--max-memory '%s': expected a positive size "
                               "in bytes, with K, M, G or T", a->f.max_memory);
    if (a->f.given[CLI_O_THREADS]) {
        dmbp_status st = dmbp_set_num_threads(a->f.threads);
        if (st)
            return cli_fail(st);
    }
    return EXIT_OK;
}

size_t cli_max_memory;

/* ------------------------------------------------------------------ */
/* Flags -> the library's options                                     */
/* ------------------------------------------------------------------ */

int cli_check_methods(const cli_args *a, unsigned methods, const char *what)
{
    for (int i = 0; i < CLI_O_COUNT; i++) {
        if (!a->f.given[i] || !table[i].methods ||
            (table[i].methods & methods))
            continue;
        char list[128];
        method_list(table[i].methods, " or ", list, sizeof list);
        return cli_usage_error("--%s applies only to %s, not to %s",
                               table[i].name, list, what);
    }
    return EXIT_OK;
}

int cli_explain_options(const cli_flags *f, dmbp_method m,
                        const dmbp_preprocess_options *pre,
                        dmbp_explain_options *o)
{
    dmbp_explain_options_init(o);
    o->method = m;
    o->max_memory = cli_max_memory;
/* Given on the command line, and a setting of method m. */
#define APPLIES(ID) \
    (f->given[CLI_O_##ID] && ((table[CLI_O_##ID].methods >> m) & 1))
    if (APPLIES(PRESET)) {
        char name[32];
        /* First, so that the single weights override it. */
        dmbp_status st = dmbp_explain_preset(
            o, cli_choice(CLI_O_PRESET, f->preset, name, sizeof name));
        if (st)
            return cli_fail(st);
    }
    dmbp_dmbp_options *d = &o->dmbp;
    if (APPLIES(TOL))
        d->tol = f->tol;
    if (APPLIES(W_COMPLETENESS))
        d->w_completeness = f->w_completeness;
    if (APPLIES(W_SIGN))
        d->w_sign = f->w_sign;
    if (APPLIES(W_NUISANCE))
        d->w_nuisance = f->w_nuisance;
    if (APPLIES(W_EVIDENCE))
        d->w_evidence = f->w_evidence;
    if (APPLIES(W_SPARSITY))
        d->w_sparsity = f->w_sparsity;
    if (APPLIES(ABS))
        o->saliency.abs = 1;
    if (APPLIES(STEPS))
        o->ig.steps = f->steps;
    if (APPLIES(BASELINE)) {
        static const dmbp_baseline b[] = {
            DMBP_BASELINE_ZERO, DMBP_BASELINE_BLACK, DMBP_BASELINE_BLUR};
        o->ig.baseline = o->occlusion.baseline = b[f->baseline];
    }
    if (APPLIES(IG_RULE)) {
        static const dmbp_ig_rule r[] = {DMBP_IG_MIDPOINT, DMBP_IG_TRAPEZOID,
                                         DMBP_IG_LEFT, DMBP_IG_RIGHT};
        o->ig.rule = r[f->ig_rule];
    }
    /* --samples, --sigma and --seed are SmoothGrad's or DMBP's smoothing,
     * whichever method runs. */
    if (APPLIES(SAMPLES)) {
        o->smoothgrad.samples = f->samples;
        o->rise.masks = f->samples;
        d->samples = f->samples;
        /* DMBP's smoothed variant is a variant of the classic formulation
         * (dmbp-method.md section 3): noisy copies replace the path's. */
        if (m == DMBP_METHOD_DMBP && f->samples > 1) {
            d->path_steps = 0;
            d->mask_init = DMBP_MASK_INIT_CONSTANT;
        }
    }
    if (APPLIES(PATH_STEPS))
        d->path_steps = f->path_steps;
    if (APPLIES(PATH_REFRESH))
        o->dmbp_path_refresh = f->path_refresh;
    if (APPLIES(MASK_INIT))
        d->mask_init = f->mask_init ? DMBP_MASK_INIT_CONTRIBUTION
                                    : DMBP_MASK_INIT_CONSTANT;
    if (APPLIES(SIGMA)) {
        o->smoothgrad.sigma = f->sigma;
        d->sigma = f->sigma;
    }
    if (APPLIES(SEED)) {
        o->smoothgrad.seed = f->seed;
        o->rise.seed = f->seed;
        d->seed = f->seed;
    }
    if (APPLIES(OF))
        o->smoothgrad.of_gradient = f->of == 0; /* "grad|gxi" */
    if (APPLIES(LAYER))
        o->gradcam.layer = f->layer;
    if (APPLIES(WINDOW))
        o->occlusion.window = f->window;
    if (APPLIES(STRIDE))
        o->occlusion.stride = f->stride;
    if (APPLIES(GRID))
        o->rise.grid = f->grid;
    if (APPLIES(KEEP))
        o->rise.p = f->keep;
    if (APPLIES(COMPOSITE))
        o->lrp.composite = (dmbp_lrp_composite)f->composite;
    if (APPLIES(EPSILON))
        o->lrp.epsilon = f->epsilon;
    if (APPLIES(GAMMA))
        o->lrp.gamma = f->gamma;
    if (APPLIES(ITERS))
        d->iterations = f->iters;
    if (APPLIES(LR))
        d->lr = f->lr;
    if (APPLIES(INIT_LOGIT))
        d->init_logit = f->init_logit;
    if (APPLIES(MAX_LANES))
        o->max_lanes = f->max_lanes;
    if (APPLIES(FPMATH))
        o->fpmath = f->fpmath == 2 ? DMBP_FPMATH_BF16 : DMBP_FPMATH_STRICT;
#undef APPLIES
    /* Read by the library during the call: pre outlives it. */
    o->preprocess = pre;
    return EXIT_OK;
}
