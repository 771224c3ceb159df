/* Allocation wrappers that set the error detail, and shape helpers. */
#include "internal.h"

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

char *dmbp__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dmbp__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
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
