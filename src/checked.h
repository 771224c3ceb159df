/* Overflow-checked size arithmetic. Every shape, stride, pad and byte
 * count computed from a file goes through these: a model is hostile input
 * until proven otherwise (architecture.md). Each returns false on
 * overflow or on a negative operand, and leaves *out unspecified then. */
#ifndef DMBP_CHECKED_H
#define DMBP_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest element count of any tensor we accept: 2^40 floats (4 TiB) is
 * far beyond any plan's memory budget, and keeps count * sizeof(double)
 * and sums of a few such counts far from int64 overflow. */
#define DMBP_MAX_ELEMS ((int64_t)1 << 40)

/* Largest value of any size-like attribute read from a file (a pad, a
 * stride, a dilation, a kernel size, a shape entry): no tensor can use
 * more, and two such values multiply without int64 overflow. */
#define DMBP_MAX_DIM DMBP_MAX_ELEMS

static inline bool dmbp__mul_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0)
        return false;
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool dmbp__add_i64(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

static inline bool dmbp__mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool dmbp__add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Product of dims[0..n), each >= 0, at most DMBP_MAX_ELEMS. */
static inline bool dmbp__numel_i64(const int64_t *dims, int n, int64_t *out)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        if (!dmbp__mul_i64(p, dims[i], &p) || p > DMBP_MAX_ELEMS)
            return false;
    *out = p;
    return true;
}

/* a * b + c for non-negative operands. */
static inline bool dmbp__muladd_i64(int64_t a, int64_t b, int64_t c,
                                    int64_t *out)
{
    int64_t t;
    return dmbp__mul_i64(a, b, &t) && c >= 0 && dmbp__add_i64(t, c, out);
}

/* A size-like value from a file within [lo, DMBP_MAX_DIM]. */
static inline bool dmbp__dim_ok(int64_t v, int64_t lo)
{
    return v >= lo && v <= DMBP_MAX_DIM;
}

#endif /* DMBP_CHECKED_H */
