/* Conformance against ONNX's own backend test cases (Debian package
 * libonnx-testdata): every case listed in tests/onnx_node_cases.txt is
 * run, and its outcome must be the one the list states.
 *
 *   <dir>/<case> pass
 *       loads, plans for the shape of input_0, runs, and every data set's
 *       output_0 matches within ONNX's backend tolerance;
 *   <dir>/<case> unsupported <reason>
 *       loading is refused with DMBP_ERR_UNSUPPORTED and a non-empty
 *       dmbp_last_error(); the reason says why in a few words.
 *
 * libdmbp takes one runtime input, while node tests feed weights as extra
 * graph inputs (input_1.pb, ...): those become initializers under the
 * names of graph inputs 1..K, and the model is re-serialised and loaded
 * from memory. A case that loads although listed unsupported fails: the
 * list is out of date.
 *
 * Usage: test_onnx_node              run the list
 *        test_onnx_node CASE...      run only these listed cases
 *        test_onnx_node --try CASE.. run cases whether listed or not and
 *                                    print what the list should say
 * The data directory is ONNX_TESTDATA (configure --with-onnx-testdata),
 * overridden by the environment variable of the same name. */
#include "base.h"

#include "npy.h"
#include "proto/onnx.pb-c.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>

#ifndef ONNX_TESTDATA
#define ONNX_TESTDATA "/usr/share/libonnx-testdata/data"
#endif

/* onnx/backend/test/loader: rtol 1e-3, atol 1e-7 for every case stored
 * with a model.onnx (node/ and pytorch-converted/ alike); the runner
 * checks np.testing.assert_allclose(ours, expected, rtol, atol), i.e.
 * |ours - expected| <= atol + rtol * |expected|. */
#define ONNX_RTOL 1e-3
#define ONNX_ATOL 1e-7

#define MAX_DATA_SETS 1000
#define MAX_INPUTS 16

typedef enum expect { EXPECT_PASS, EXPECT_UNSUPPORTED } expect;

typedef struct case_entry {
    char *name;       /* "node/test_relu" */
    expect want;
    char *reason;     /* unsupported: why */
    int line;
} case_entry;

typedef enum outcome {
    OUT_PASS,        /* loaded, ran, matched */
    OUT_REFUSED,     /* loading refused with an acceptable status */
    OUT_MISMATCH,    /* ran but the numbers or shape differ */
    OUT_NODATA,      /* the test data could not be read: nothing loaded */
    OUT_ERROR        /* loaded, then failed to plan or run */
} outcome;

static const char *data_dir;

/* ---- files --------------------------------------------------------------- */

/* printf into a path buffer; false if it did not fit. */
static bool path_fmt(char *buf, size_t cap, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static bool path_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whole file into a malloc'ed buffer; NULL (errno-ish detail in msg). */
static uint8_t *slurp(const char *path, size_t *size, char *msg, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, cap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t len = 0, alloc = 0;
    for (;;) {
        if (len == alloc) {
            size_t na = alloc ? 2 * alloc : 65536;
            uint8_t *nb = realloc(buf, na);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(msg, cap, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
            alloc = na;
        }
        size_t got = fread(buf + len, 1, alloc - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        snprintf(msg, cap, "%s: read error", path);
        return NULL;
    }
    *size = len;
    return buf;
}

static Onnx__TensorProto *read_tensor(const char *path, char *msg, size_t cap)
{
    size_t n;
    uint8_t *b = slurp(path, &n, msg, cap);
    if (!b)
        return NULL;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, n, b);
    free(b);
    if (!t)
        snprintf(msg, cap, "%s: not a TensorProto", path);
    return t;
}

/* float32 contents of t (raw_data or float_data, little-endian) into a
 * malloc'ed array; NULL when t is not float32 or malformed. */
static float *tensor_floats(const Onnx__TensorProto *t, int64_t *numel,
                            char *msg, size_t cap)
{
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        snprintf(msg, cap, "tensor of data type %d, not float32",
                 (int)t->data_type);
        return NULL;
    }
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || t->dims[i] > ((int64_t)1 << 32)) {
            snprintf(msg, cap, "tensor dimension %lld",
                     (long long)t->dims[i]);
            return NULL;
        }
        n *= t->dims[i];
    }
    float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!f) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    if (t->has_raw_data) {
        if (t->raw_data.len != (size_t)n * sizeof(float)) {
            snprintf(msg, cap, "raw_data of %zu bytes for %lld floats",
                     t->raw_data.len, (long long)n);
            free(f);
            return NULL;
        }
        memcpy(f, t->raw_data.data, (size_t)n * sizeof(float));
    } else {
        if (t->n_float_data != (size_t)n) {
            snprintf(msg, cap, "%zu float_data for %lld elements",
                     t->n_float_data, (long long)n);
            free(f);
            return NULL;
        }
        memcpy(f, t->float_data, (size_t)n * sizeof(float));
    }
    *numel = n;
    return f;
}

/* ---- one data set ---------------------------------------------------------- */

/* Tensor-typed graph value? (Sequences and optionals are stored as other
 * messages in the .pb files: they are not read.) */
static bool is_tensor(const Onnx__ValueInfoProto *vi)
{
    return vi && vi->type &&
           vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
}

typedef struct data_set {
    int n_in;
    Onnx__TensorProto *in[MAX_INPUTS]; /* NULL: not a tensor input */
    Onnx__TensorProto *out0;           /* NULL: not a tensor output */
} data_set;

static void data_set_free(data_set *d)
{
    for (int i = 0; i < d->n_in; i++)
        if (d->in[i])
            onnx__tensor_proto__free_unpacked(d->in[i], NULL);
    if (d->out0)
        onnx__tensor_proto__free_unpacked(d->out0, NULL);
    memset(d, 0, sizeof *d);
}

/* Reads <case>/test_data_set_<k>; returns 1 if it exists and was read, 0
 * if it does not exist, -1 on error (msg). */
static int data_set_read(const char *case_dir, const Onnx__GraphProto *g,
                         int k, data_set *d, char *msg, size_t cap)
{
    char path[4096];
    memset(d, 0, sizeof *d);
    if (!path_fmt(path, sizeof path, "%s/test_data_set_%d", case_dir, k)) {
        snprintf(msg, cap, "path too long");
        return -1;
    }
    if (!file_exists(path))
        return 0;
    for (int i = 0;; i++) {
        if (!path_fmt(path, sizeof path, "%s/test_data_set_%d/input_%d.pb",
                      case_dir, k, i)) {
            snprintf(msg, cap, "path too long");
            data_set_free(d);
            return -1;
        }
        if (!file_exists(path))
            break;
        if (i == MAX_INPUTS) {
            snprintf(msg, cap, "more than %d inputs", MAX_INPUTS);
            data_set_free(d);
            return -1;
        }
        if ((size_t)i >= g->n_input) {
            snprintf(msg, cap, "input_%d.pb for a graph with %zu inputs", i,
                     g->n_input);
            data_set_free(d);
            return -1;
        }
        d->n_in++;
        if (!is_tensor(g->input[i]))
            continue;
        d->in[i] = read_tensor(path, msg, cap);
        if (!d->in[i]) {
            data_set_free(d);
            return -1;
        }
    }
    if (!path_fmt(path, sizeof path, "%s/test_data_set_%d/output_0.pb",
                  case_dir, k)) {
        snprintf(msg, cap, "path too long");
        data_set_free(d);
        return -1;
    }
    if (g->n_output < 1 || !is_tensor(g->output[0]))
        return 1;
    d->out0 = read_tensor(path, msg, cap);
    if (!d->out0) {
        data_set_free(d);
        return -1;
    }
    return 1;
}

/* The model with inputs 1..K of d appended as initializers, serialised. */
static uint8_t *pack_with_weights(Onnx__ModelProto *mp, const data_set *d,
                                  size_t *len, char *msg, size_t cap)
{
    Onnx__GraphProto *g = mp->graph;
    size_t n_old = g->n_initializer;
    Onnx__TensorProto **old = g->initializer;
    Onnx__TensorProto **all =
        malloc((n_old + (size_t)d->n_in + 1) * sizeof *all);
    char *saved_names[MAX_INPUTS];
    if (!all) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    if (n_old)
        memcpy(all, old, n_old * sizeof *all);
    /* Non-tensor inputs (sequences...) stay runtime inputs: the loader
     * will refuse them. */
    size_t n_new = n_old;
    for (int i = 1; i < d->n_in; i++) {
        Onnx__TensorProto *t = d->in[i];
        if (!t)
            continue;
        saved_names[i] = t->name;
        t->name = g->input[i]->name; /* borrowed; restored below */
        all[n_new++] = t;
    }
    g->initializer = all;
    g->n_initializer = n_new;
    size_t n = onnx__model_proto__get_packed_size(mp);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf)
        *len = onnx__model_proto__pack(mp, buf);
    else
        snprintf(msg, cap, "out of memory");
    g->initializer = old;
    g->n_initializer = n_old;
    for (int i = 1; i < d->n_in; i++)
        if (d->in[i])
            d->in[i]->name = saved_names[i];
    free(all);
    return buf;
}

/* Load, plan, run and compare one data set. */
static outcome run_data_set(const char *name, Onnx__ModelProto *mp,
                            const data_set *d, char *msg, size_t cap,
                            dmbp_status *load_status, int64_t *nvalues,
                            double *used)
{
    *load_status = DMBP_OK;
    *nvalues = 0;
    *used = 0;
    size_t len = 0;
    uint8_t *buf = pack_with_weights(mp, d, &len, msg, cap);
    if (!buf)
        return OUT_NODATA;
    dmbp_model *m = NULL;
    dmbp_status st = dmbp_model_load_memory(buf, len, name, NULL, &m);
    free(buf);
    if (st) {
        *load_status = st;
        snprintf(msg, cap, "load: %s: %s", dmbp_status_str(st),
                 dmbp_last_error());
        return OUT_REFUSED;
    }
    outcome res = OUT_ERROR;
    dmbp_plan *plan = NULL;
    float *x = NULL, *want = NULL, *got = NULL;
    int64_t nx = 0, nwant = 0;
    if (d->n_in < 1 || !d->in[0] || !d->out0) {
        snprintf(msg, cap, "the model loads but the data set has no "
                 "tensor input_0.pb and output_0.pb to run it on");
        goto done;
    }
    const Onnx__TensorProto *t0 = d->in[0];
    x = tensor_floats(t0, &nx, msg, cap);
    if (!x)
        goto done;
    if (t0->n_dims < 1 || t0->n_dims > DMBP_MAX_DIMS) {
        snprintf(msg, cap, "input_0 has %zu dimensions", t0->n_dims);
        goto done;
    }
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.whole_tensor = 1; /* single ops: outputs of any shape */
    po.shape.ndim = (int)t0->n_dims;
    for (size_t i = 0; i < t0->n_dims; i++)
        po.shape.dims[i] = t0->dims[i];
    st = dmbp_plan_create(m, &po, &plan);
    if (st) {
        snprintf(msg, cap, "plan: %s: %s", dmbp_status_str(st),
                 dmbp_last_error());
        goto done;
    }
    st = dmbp_plan_forward(plan, x, NULL);
    if (st) {
        snprintf(msg, cap, "forward: %s: %s", dmbp_status_str(st),
                 dmbp_last_error());
        goto done;
    }
    want = tensor_floats(d->out0, &nwant, msg, cap);
    if (!want)
        goto done;
    dmbp_shape ys = dmbp_plan_output_shape(plan);
    bool same = ys.ndim == (int)d->out0->n_dims;
    for (int i = 0; same && i < ys.ndim; i++)
        same = ys.dims[i] == d->out0->dims[i];
    if (!same) {
        char a[160], b[160];
        dmbp_shape es = {0, {0}};
        es.ndim = d->out0->n_dims <= DMBP_MAX_DIMS ? (int)d->out0->n_dims : 0;
        for (int i = 0; i < es.ndim; i++)
            es.dims[i] = d->out0->dims[i];
        snprintf(msg, cap, "output shape %s, expected %s",
                 dmbp__shape_str(&ys, a, sizeof a),
                 dmbp__shape_str(&es, b, sizeof b));
        res = OUT_MISMATCH;
        goto done;
    }
    got = malloc((size_t)(nwant ? nwant : 1) * sizeof(float));
    if (!got) {
        snprintf(msg, cap, "out of memory");
        goto done;
    }
    st = dmbp_plan_output(plan, got);
    if (st) {
        snprintf(msg, cap, "output: %s: %s", dmbp_status_str(st),
                 dmbp_last_error());
        goto done;
    }
    int64_t bad = 0, worst_at = -1;
    double worst = 0; /* largest |err| / bound among the failures */
    for (int64_t i = 0; i < nwant; i++) {
        double e = want[i], o = got[i];
        double bound = ONNX_ATOL + ONNX_RTOL * fabs(e);
        double err = fabs(o - e);
        bool ok = err <= bound || (isnan(e) && isnan(o));
        if (ok && err / bound > *used)
            *used = err / bound;
        if (!ok) {
            bad++;
            if (!(err / bound <= worst)) {
                worst = err / bound;
                worst_at = i;
            }
        }
    }
    if (bad) {
        snprintf(msg, cap, "%lld of %lld values out of tolerance; worst at "
                 "%lld: got %.9g, expected %.9g", (long long)bad,
                 (long long)nwant, (long long)worst_at,
                 (double)got[worst_at], (double)want[worst_at]);
        res = OUT_MISMATCH;
        goto done;
    }
    *nvalues = nwant;
    res = OUT_PASS;
done:
    free(x);
    free(want);
    free(got);
    dmbp_plan_free(plan);
    dmbp_model_free(m);
    return res;
}

/* Run every data set of a case. On OUT_REFUSED, *status is the loader's.
 * Refusal must be the same for every data set (the model is the same),
 * so the first data set decides. */
static outcome run_case(const char *name, char *msg, size_t cap,
                        dmbp_status *status)
{
    char case_dir[4096], path[4096];
    *status = DMBP_OK;
    if (!path_fmt(case_dir, sizeof case_dir, "%s/%s", data_dir, name) ||
        !path_fmt(path, sizeof path, "%s/model.onnx", case_dir)) {
        snprintf(msg, cap, "path too long");
        return OUT_NODATA;
    }
    size_t n;
    uint8_t *b = slurp(path, &n, msg, cap);
    if (!b)
        return OUT_NODATA;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, n, b);
    free(b);
    if (!mp || !mp->graph) {
        snprintf(msg, cap, "model.onnx: protobuf-c cannot decode it");
        if (mp)
            onnx__model_proto__free_unpacked(mp, NULL);
        return OUT_NODATA;
    }
    outcome res = OUT_NODATA;
    int sets = 0;
    int64_t values = 0;
    double used = 0;
    for (int k = 0; k < MAX_DATA_SETS; k++) {
        data_set d;
        int r = data_set_read(case_dir, mp->graph, k, &d, msg, cap);
        if (r < 0) {
            res = OUT_NODATA;
            break;
        }
        if (r == 0)
            break;
        int64_t nv;
        double u;
        res = run_data_set(name, mp, &d, msg, cap, status, &nv, &u);
        data_set_free(&d);
        if (res != OUT_PASS)
            break;
        sets++;
        values += nv;
        if (u > used)
            used = u;
    }
    if (res == OUT_PASS)
        snprintf(msg, cap, "%d data set%s, %lld values, %.2g of the "
                 "tolerance used", sets, sets == 1 ? "" : "s",
                 (long long)values, used);
    else if (sets == 0 && res == OUT_NODATA && !msg[0])
        snprintf(msg, cap, "no test_data_set_0");
    onnx__model_proto__free_unpacked(mp, NULL);
    return res;
}

/* ---- the list ------------------------------------------------------------- */

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
                 s[n - 1] == '\t'))
        s[--n] = 0;
}

/* Parse the list; returns the number of entries or -1 (message printed). */
static int read_list(const char *path, case_entry **out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("FAIL cannot open the case list %s: %s\n", path,
               strerror(errno));
        return -1;
    }
    case_entry *list = NULL;
    int n = 0, cap = 0, lineno = 0, bad = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            printf("FAIL %s:%d: line too long\n", path, lineno);
            bad++;
            break;
        }
        trim(line);
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        char *name = s;
        char *sp = strpbrk(s, " \t");
        char *word = NULL, *rest = NULL;
        if (sp) {
            *sp = 0;
            word = sp + 1;
            while (*word == ' ' || *word == '\t')
                word++;
            rest = strpbrk(word, " \t");
            if (rest) {
                *rest++ = 0;
                while (*rest == ' ' || *rest == '\t')
                    rest++;
            }
        }
        case_entry e = {0};
        e.line = lineno;
        if (word && !strcmp(word, "pass") && (!rest || !*rest)) {
            e.want = EXPECT_PASS;
        } else if (word && !strcmp(word, "unsupported") && rest && *rest) {
            e.want = EXPECT_UNSUPPORTED;
        } else {
            printf("FAIL %s:%d: expected '<dir>/<case> pass' or '<dir>/<case> "
                   "unsupported <reason>'\n", path, lineno);
            bad++;
            continue;
        }
        for (int i = 0; i < n; i++)
            if (!strcmp(list[i].name, name)) {
                printf("FAIL %s:%d: %s is listed again (first on line %d)\n",
                       path, lineno, name, list[i].line);
                bad++;
            }
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            case_entry *nl = realloc(list, (size_t)cap * sizeof *nl);
            if (!nl) {
                printf("FAIL out of memory\n");
                bad++;
                break;
            }
            list = nl;
        }
        e.name = strdup(name);
        e.reason = strdup(e.want == EXPECT_UNSUPPORTED ? rest : "");
        list[n++] = e;
        if (!e.name || !e.reason) {
            printf("FAIL out of memory\n");
            bad++;
            break;
        }
    }
    fclose(f);
    *out = list;
    if (bad) {
        for (int i = 0; i < n; i++) {
            free(list[i].name);
            free(list[i].reason);
        }
        free(list);
        *out = NULL;
        return -1;
    }
    return n;
}

/* Status classes a refusal may have. UNSUPPORTED is the normal one. */
static bool refusal_ok(dmbp_status st)
{
    return st == DMBP_ERR_UNSUPPORTED;
}

/* Check one listed case; returns 1 if it behaved as listed. */
static int check_case(const case_entry *e, int *passed, int *unsup)
{
    char msg[2048] = "";
    dmbp_status st;
    outcome r = run_case(e->name, msg, sizeof msg, &st);
    if (r == OUT_NODATA) {
        printf("FAIL %s: test data: %s\n", e->name, msg);
        return 0;
    }
    if (e->want == EXPECT_PASS) {
        if (r == OUT_PASS) {
            printf("PASS %s (%s)\n", e->name, msg);
            (*passed)++;
            return 1;
        }
        printf("FAIL %s: listed pass: %s\n", e->name, msg);
        return 0;
    }
    if (r == OUT_REFUSED) {
        const char *le = dmbp_last_error();
        if (!refusal_ok(st)) {
            printf("FAIL %s: listed unsupported (%s) but refused with %s "
                   "instead of DMBP_ERR_UNSUPPORTED: %s\n", e->name,
                   e->reason, dmbp_status_str(st), le);
            return 0;
        }
        if (!le || !le[0]) {
            printf("FAIL %s: refused with %s but dmbp_last_error() is "
                   "empty\n", e->name, dmbp_status_str(st));
            return 0;
        }
        printf("UNSUPPORTED-OK %s (%s) [%s]\n", e->name, e->reason, le);
        (*unsup)++;
        return 1;
    }
    if (r == OUT_PASS)
        printf("FAIL %s: listed unsupported (%s) but it loads, runs and "
               "matches: list it as pass\n", e->name, e->reason);
    else if (r == OUT_MISMATCH)
        printf("FAIL %s: listed unsupported (%s) but it loads (and gives "
               "wrong results: %s)\n", e->name, e->reason, msg);
    else
        printf("FAIL %s: listed unsupported (%s) but it loads (then: %s)\n",
               e->name, e->reason, msg);
    return 0;
}

/* --try: run cases and say what the list should hold. */
static int try_cases(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char msg[2048] = "";
        dmbp_status st;
        outcome r = run_case(argv[i], msg, sizeof msg, &st);
        const char *what = r == OUT_PASS        ? "pass"
                           : r == OUT_REFUSED   ? "refused"
                           : r == OUT_MISMATCH  ? "MISMATCH"
                           : r == OUT_NODATA    ? "NODATA"
                                                : "ERROR";
        printf("%s %s (%s)\n", argv[i], what, msg);
    }
    return 0;
}

int main(int argc, char **argv)
{
    data_dir = getenv("ONNX_TESTDATA");
    if (!data_dir || !data_dir[0])
        data_dir = ONNX_TESTDATA;
    char probe[4096];
    if (!path_fmt(probe, sizeof probe, "%s/node", data_dir) ||
        !file_exists(probe)) {
        printf("FAIL ONNX backend test data not found in %s (no node/ "
               "directory). Install the Debian package libonnx-testdata, "
               "or point configure's --with-onnx-testdata (or the "
               "environment variable ONNX_TESTDATA) at the directory "
               "holding node/ and pytorch-converted/.\n", data_dir);
        return 1;
    }
    if (argc > 1 && !strcmp(argv[1], "--try"))
        return try_cases(argc - 2, argv + 2);

    const char *list_path = test_path("tests/onnx_node_cases.txt");
    case_entry *list = NULL;
    int n = read_list(list_path, &list);
    if (n < 0)
        return 1;
    int passed = 0, unsup = 0, failed = 0, ran = 0;
    for (int i = 0; i < n; i++) {
        bool selected = argc < 2;
        for (int a = 1; a < argc && !selected; a++)
            selected = !strcmp(argv[a], list[i].name);
        if (!selected)
            continue;
        ran++;
        if (!check_case(&list[i], &passed, &unsup))
            failed++;
        fflush(stdout);
    }
    for (int a = 1; a < argc; a++) {
        bool found = false;
        for (int i = 0; i < n && !found; i++)
            found = !strcmp(argv[a], list[i].name);
        if (!found) {
            printf("FAIL %s is not in %s\n", argv[a], list_path);
            failed++;
        }
    }
    if (ran == 0 && argc < 2) {
        printf("FAIL %s lists no cases\n", list_path);
        failed++;
    }
    for (int i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].reason);
    }
    free(list);
    printf("onnx node cases: %d passed, %d unsupported as listed, %d "
           "failed\n", passed, unsup, failed);
    return failed ? 1 : 0;
}
