/* Allocation wrappers that set the error detail, and shape helpers. */
#include "base.h"

#include <stdatomic.h>

/* configure requires OpenMP; only the fuzz build (make fuzz: clang, whose
 * libomp Debian does not install) compiles the library without it, and
 * runs single-threaded. */
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_max_threads(void) { return 1; }
static void omp_set_num_threads(int n) { (void)n; }
#endif

/* 0: the OpenMP default; otherwise dmbp_set_num_threads's n. */
static atomic_int num_threads;
/* The calling thread's OpenMP default, read before we first change it. */
static _Thread_local int thread_default;

dmbp_status dmbp_set_num_threads(int n)
{
    if (n < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_set_num_threads: %d "
                              "threads", n);
    atomic_store(&num_threads, n);
    dmbp__threads_apply();
    return DMBP_OK;
}

void dmbp__threads_apply(void)
{
    if (!thread_default)
        thread_default = omp_get_max_threads();
    int n = atomic_load(&num_threads);
    int want = n ? n : thread_default;
    if (omp_get_max_threads() != want)
        omp_set_num_threads(want);
}

int dmbp_get_num_threads(void)
{
    dmbp__threads_apply();
    return omp_get_max_threads();
}

void *dmbp__malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        dmbp_set_error(DMBP_ERR_NOMEM, "out of memory (%zu bytes)", n);
    return p;
}

void *dmbp__calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        dmbp_set_error(DMBP_ERR_NOMEM, "out of memory (%zu x %zu bytes)", n,
                       size);
    return p;
}

int dmbp__choice(const char *choices, const char *word)
{
    size_t len = strlen(word);
    for (int k = 0; *choices; k++) {
        size_t n = strcspn(choices, "|");
        if (n == len && !strncmp(choices, word, n))
            return k;
        choices += n + (choices[n] == '|');
    }
    return -1;
}

char *dmbp__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dmbp__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int64_t dmbp_shape_numel(const dmbp_shape *s)
{
    int64_t n;
    if (!s || s->ndim < 0 || s->ndim > DMBP_MAX_DIMS ||
        !dmbp__numel_i64(s->dims, s->ndim, &n))
        return -1;
    return n;
}

const char *dmbp__shape_str(const dmbp_shape *s, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < s->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "",
                              (long long)s->dims[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
    return buf;
}

bool dmbp__shape_eq(const dmbp_shape *a, const dmbp_shape *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

void dmbp_softmax(const float *logits, int n, float *prob)
{
    if (n <= 0)
        return;
    /* Subtract the maximum so that exp never overflows. */
    float mx = logits[0];
    for (int i = 1; i < n; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        prob[i] = expf(logits[i] - mx);
        sum += prob[i];
    }
    for (int i = 0; i < n; i++)
        prob[i] = (float)(prob[i] / sum);
}

/* ---- options structs ---------------------------------------------------- */

static size_t struct_size_of(const void *o)
{
    size_t size;
    memcpy(&size, o, sizeof size); /* every options struct starts with it */
    return size;
}

void dmbp__options_init(void *o, size_t size, const void *def, size_t min,
                        size_t full)
{
    if (!o)
        return;
    if (size < min || size > full) {
        /* Nothing else is safe to write: the caller's struct may be
         * smaller than ours. Readers refuse struct_size 0. */
        if (size >= sizeof(size_t))
            memset(o, 0, sizeof(size_t));
        return;
    }
    memcpy(o, def, size);
    memcpy(o, &size, sizeof size);
}

static dmbp_status size_ok(size_t size, size_t min, size_t full,
                           const char *type)
{
    if (size >= min && size <= full)
        return DMBP_OK;
    if (size > full && size < ((size_t)1 << 20))
        return dmbp_set_error(DMBP_ERR_ARG, "%s: struct_size %zu is larger "
                              "than this libdmbp %s knows (%zu bytes): the "
                              "program was built against a newer header",
                              type, size, dmbp_version(), full);
    return dmbp_set_error(DMBP_ERR_ARG, "%s: struct_size %zu is not a size "
                          "this libdmbp %s knows (%zu to %zu bytes): fill "
                          "the struct with %s_init() first (a program built "
                          "against a header without struct_size, before "
                          "0.2.0, must be rebuilt)", type, size,
                          dmbp_version(), min, full, type);
}

dmbp_status dmbp__options_in(const void *in, void *out, size_t min,
                             size_t full, const char *type)
{
    if (!in)
        return DMBP_OK;
    size_t size = struct_size_of(in);
    TRY(size_ok(size, min, full, type));
    memcpy(out, in, size);
    memcpy(out, &full, sizeof full);
    return DMBP_OK;
}

dmbp_status dmbp__options_out(const void *res, void *out, size_t min,
                              size_t full, const char *type)
{
    size_t size = struct_size_of(out);
    TRY(size_ok(size, min, full, type));
    memcpy(out, res, size);
    memcpy(out, &size, sizeof size);
    return DMBP_OK;
}
