/* LRP's convolution and its transpose on plain tensors of one image
 * (ops/convmap.h), summed in double: the rules of ops/lrp.c call them two
 * to six times per Conv, so they are most of an LRP explanation's time.
 *
 * Both are tiled matrix products in double with the output positions as
 * rows. Forward: Y^T [positions x OC] = X_col [positions x (C/g KH KW)]
 * W^T, the input gathered (im2col) one tile of positions and a block of
 * the reduction at a time. Transpose: COL [positions x (C/g KH KW)] =
 * DY^T [positions x OC] W, scattered (col2im) into the input planes of a
 * block of input channels: one thread owns those planes, so no two
 * threads add into the same dx. The tiles are packed into per-thread
 * buffers as double panels, and a register-tiled kernel (compiled for
 * SSE2, AVX2 and AVX-512, picked at run time) adds a panel product to an
 * MR x NR tile of the output. Each output's sum runs over the reduction
 * in order with a multiply and an add per term (no fused multiply-add:
 * ISO C), so every kernel gives the same bits. Groups with one or two
 * output channels (depthwise) keep the direct loops, which the matrix
 * form would pad eightfold. */
#include "ops/convmap.h"
#include "ops/lrp.h"

#include <omp.h>

enum {
    TILE_M = 384, /* positions per tile: a multiple of every kernel's MR;
                   * each packed weight serves TILE_M positions           */
    TILE_N = 128, /* output channels (forward) or input channel x tap
                   * columns (transpose) per tile: a multiple of every NR */
    TILE_K = 128, /* reduction block: a TILE_K x NR panel stays in L1     */
    ALIGN = 64,   /* the panels' alignment, for the kernels' vector loads */
    ITEMS_PER_THREAD = 4, /* transpose: channel blocks per thread         */
    DIRECT_MAX_OCG = 2    /* output channels per group of the direct path */
};
/* Transpose: a thread's input planes in double, at most (but at least
 * one plane). */
#define PLANES_BYTES ((int64_t)2 << 20)

/* ---- the kernels: c[MR][NR] (row stride ldc) += a^T b over kc ------- */

typedef void (*kern_fn)(int64_t kc, const double *restrict a,
                        const double *restrict b, double *restrict c,
                        int64_t ldc);
typedef struct kernel {
    int mr, nr;
    kern_fn run;
} kernel;

typedef double v2d __attribute__((vector_size(16), may_alias));
#define UNROLL _Pragma("GCC unroll 8")
/* a: kc x MR (a panel of rows), b: kc x NR as NV vectors of VT, both
 * packed and aligned; the MR x NV accumulators live in registers. */
#define KERNEL(NAME, ATTR, VT, MR, NV)                                      \
    ATTR static void NAME(int64_t kc, const double *restrict a,             \
                          const double *restrict b, double *restrict c,     \
                          int64_t ldc)                                      \
    {                                                                       \
        VT t[MR][NV];                                                       \
        const VT *bv = (const VT *)b;                                       \
        UNROLL for (int i = 0; i < MR; i++)                                 \
            UNROLL for (int j = 0; j < NV; j++)                             \
                t[i][j] = ((const VT *)(c + i * ldc))[j];                   \
        for (int64_t k = 0; k < kc; k++, a += MR, bv += NV)                 \
            UNROLL for (int i = 0; i < MR; i++)                             \
                UNROLL for (int j = 0; j < NV; j++)                         \
                    t[i][j] += a[i] * bv[j];                                \
        UNROLL for (int i = 0; i < MR; i++)                                 \
            UNROLL for (int j = 0; j < NV; j++)                             \
                ((VT *)(c + i * ldc))[j] = t[i][j];                         \
    }

KERNEL(kern_sse2, , v2d, 4, 2)
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define HAVE_CLONES 1
typedef double v4d __attribute__((vector_size(32), may_alias));
typedef double v8d __attribute__((vector_size(64), may_alias));
KERNEL(kern_avx2, __attribute__((target("avx2"))), v4d, 6, 2)
KERNEL(kern_avx512, __attribute__((target("avx512f"))), v8d, 6, 2)
#endif

static const kernel kernels[] = {
    [DMBP__CONV_SSE2] = {4, 4, kern_sse2},
#ifdef HAVE_CLONES
    [DMBP__CONV_AVX2] = {6, 8, kern_avx2},
    [DMBP__CONV_AVX512] = {6, 16, kern_avx512},
#endif
};
static int forced = DMBP__CONV_AUTO;

static bool has_isa(int isa)
{
    switch (isa) {
    case DMBP__CONV_SSE2: return true;
#ifdef HAVE_CLONES
    case DMBP__CONV_AVX2: return __builtin_cpu_supports("avx2");
    case DMBP__CONV_AVX512: return __builtin_cpu_supports("avx512f");
#endif
    default: return false;
    }
}

bool dmbp__conv_map_isa(int isa)
{
    if (isa != DMBP__CONV_AUTO && !has_isa(isa))
        return false;
    forced = isa;
    return true;
}

static kernel pick_kernel(void)
{
    if (forced != DMBP__CONV_AUTO)
        return kernels[forced];
    for (int isa = DMBP__CONV_AVX512; isa > DMBP__CONV_SSE2; isa--)
        if (has_isa(isa))
            return kernels[isa];
    return kernels[DMBP__CONV_SSE2];
}

/* ---- per-thread buffers --------------------------------------------- */

typedef struct work {
    double *a;              /* TILE_M x TILE_K, panels of MR rows       */
    double *b;              /* TILE_K x TILE_N, panels of NR columns    */
    double *c;              /* TILE_M x TILE_N, row stride TILE_N       */
    double *planes;         /* transpose: the block's input planes      */
    int64_t iy[TILE_M], ix[TILE_M];      /* positions' input origins   */
    int64_t koff[TILE_K], ky[TILE_K], kx[TILE_K]; /* reduction index's
                                                   * plane and tap offsets */
    int64_t coff[TILE_N], cy[TILE_N], cx[TILE_N]; /* transpose: column's
                                                   * plane and tap offsets */
} work;

static int64_t round_up(int64_t v, int64_t m)
{
    return (v + m - 1) / m * m;
}

/* nt threads' buffers in one block (NULL: out of memory, error set). */
static void *work_alloc(int nt, int64_t plane_doubles, work *w)
{
    int64_t each = round_up((int64_t)sizeof(double) *
                            (TILE_M * TILE_K + TILE_K * TILE_N +
                             TILE_M * TILE_N + plane_doubles), ALIGN);
    char *block = dmbp__malloc((size_t)(each * nt + ALIGN));
    if (!block)
        return NULL;
    char *p = block + (ALIGN - (uintptr_t)block % ALIGN) % ALIGN;
    for (int t = 0; t < nt; t++, p += each) {
        w[t].a = (double *)p;
        w[t].b = w[t].a + TILE_M * TILE_K;
        w[t].c = w[t].b + TILE_K * TILE_N;
        w[t].planes = plane_doubles ? w[t].c + TILE_M * TILE_N : NULL;
    }
    return block;
}

/* ---- the tiles ------------------------------------------------------ */

/* Where positions n0 .. n0 + m - 1 start in the input (before the tap). */
static void origins(const dmbp__conv_geo *g, int64_t n0, int64_t m, work *w)
{
    int64_t oy = n0 / g->OW, ox = n0 % g->OW;
    for (int64_t i = 0; i < m; i++) {
        w->iy[i] = oy * g->sh - g->ph;
        w->ix[i] = ox * g->sw - g->pw;
        if (++ox == g->OW) {
            ox = 0;
            oy++;
        }
    }
}

/* 1x1, stride 1, no pad: position n reads pixel n of each plane. */
static bool pointwise(const dmbp__conv_geo *g)
{
    return g->KH == 1 && g->KW == 1 && g->sh == 1 && g->sw == 1 &&
           g->ph == 0 && g->pw == 0 && g->OH == g->H && g->OW == g->W;
}

/* c = 0 over the tile's rows (all TILE_N columns). */
static void clear_c(work *w, int64_t rows)
{
    memset(w->c, 0, (size_t)(rows * TILE_N) * sizeof(double));
}

/* c (mp x np, stride TILE_N) += a b over kc, panel by panel: the b panel
 * stays in L1 while the a panels stream from L2. */
static void tile_product(const kernel *k, work *w, int64_t kc, int64_t mp,
                         int64_t np)
{
    for (int64_t q = 0; q < np / k->nr; q++)
        for (int64_t p = 0; p < mp / k->mr; p++)
            k->run(kc, w->a + p * kc * k->mr, w->b + q * kc * k->nr,
                   w->c + p * k->mr * TILE_N + q * k->nr, TILE_N);
}

/* a = columns n0 .. n0 + m - 1 of a row-major matrix src (row stride
 * ld), rows k0 .. k0 + kc - 1, as rows of panels of MR (the transposed
 * block); rows past m are zero. Reads each source row in order. */
static void pack_columns(const kernel *k, work *w, const float *src,
                         int64_t ld, int64_t n0, int64_t m, int64_t k0,
                         int64_t kc)
{
    int64_t mr = k->mr, whole = m / mr * mr;
    for (int64_t kk = 0; kk < kc; kk++) {
        const float *row = src + (k0 + kk) * ld + n0;
        double *dst = w->a + kk * mr;
        for (int64_t p = 0; p < whole; p += mr, dst += kc * mr)
            for (int64_t i = 0; i < mr; i++)
                dst[i] = row[p + i];
        if (whole < m)
            for (int64_t i = 0; i < mr; i++)
                dst[i] = whole + i < m ? row[whole + i] : 0;
    }
}

/* a = the input's im2col rows for m positions (origins set), reduction
 * indices k0 .. k0 + kc - 1 = (channel, ky, kx) of group input xg; rows
 * past m are zero. */
static void pack_im2col(const dmbp__conv_geo *g, const kernel *k, work *w,
                        const float *xg, int64_t n0, int64_t m, int64_t k0,
                        int64_t kc)
{
    int64_t taps = g->KH * g->KW, hw = g->H * g->W, mr = k->mr;
    int64_t mp = round_up(m, mr);
    if (pointwise(g)) {
        pack_columns(k, w, xg, hw, n0, m, k0, kc);
        return;
    }
    for (int64_t kk = 0; kk < kc; kk++) {
        int64_t kidx = k0 + kk, t = kidx % taps;
        w->koff[kk] = kidx / taps * hw;
        w->ky[kk] = t / g->KW * g->dh;
        w->kx[kk] = t % g->KW * g->dw;
    }
    for (int64_t p = 0; p < mp; p += mr) {
        /* A panel of whole positions on one output row reads, per tap,
         * one run of the input row (stride sw) when that is inside. */
        bool row = p + mr <= m && w->iy[p] == w->iy[p + mr - 1];
        int64_t last = (mr - 1) * g->sw;
        for (int64_t kk = 0; kk < kc; kk++) {
            const float *src = xg + w->koff[kk];
            double *dst = w->a + p * kc + kk * mr;
            int64_t yy = w->iy[p] + w->ky[kk], xx = w->ix[p] + w->kx[kk];
            if (row && yy >= 0 && yy < g->H && xx >= 0 && xx + last < g->W) {
                const float *run = src + yy * g->W + xx;
                for (int64_t i = 0; i < mr; i++)
                    dst[i] = run[i * g->sw];
                continue;
            }
            for (int64_t i = 0; i < mr; i++) {
                double v = 0;
                if (p + i < m) {
                    yy = w->iy[p + i] + w->ky[kk];
                    xx = w->ix[p + i] + w->kx[kk];
                    if (yy >= 0 && yy < g->H && xx >= 0 && xx < g->W)
                        v = src[yy * g->W + xx];
                }
                dst[i] = v;
            }
        }
    }
}

/* v = max(v, 0) (pos) or min(v, 0), n even, v aligned: a mask, no
 * branch (the signs of weights are a coin toss for a predictor). NaN
 * becomes 0, as in dmbp__lrp_wpart. */
static void keep_sign(double *v, int64_t n, bool pos)
{
    typedef long long v2l __attribute__((vector_size(16), may_alias));
    const v2d zero = {0, 0};
    v2d *p = (v2d *)v;
    for (int64_t i = 0; i < n / 2; i++) {
        v2l m = pos ? p[i] > zero : p[i] < zero;
        p[i] = (v2d)((v2l)p[i] & m);
    }
}

/* b = columns col0 .. col0 + nn - 1 of a row-major matrix of weights src
 * (row stride ld; their part `part`), rows k0 .. k0 + kc - 1, as panels
 * of NR columns; columns past nn are zero. trans: src is the transpose
 * (column c's row k at src[c ld + k]). */
static void pack_b(const kernel *k, work *w, const float *src, int part,
                   int64_t ld, bool trans, int64_t col0, int64_t nn,
                   int64_t k0, int64_t kc)
{
    int64_t nr = k->nr, np = round_up(nn, nr);
    for (int64_t q = 0; q < np; q += nr) {
        double *dst = w->b + q * kc;
        int64_t full = nn - q < nr ? nn - q : nr;
        if (trans) {
            for (int64_t j = 0; j < full; j++) {
                const float *s = src + (col0 + q + j) * ld + k0;
                for (int64_t kk = 0; kk < kc; kk++)
                    dst[kk * nr + j] = s[kk];
            }
        } else {
            for (int64_t kk = 0; kk < kc; kk++) {
                const float *s = src + (k0 + kk) * ld + col0 + q;
                for (int64_t j = 0; j < full; j++)
                    dst[kk * nr + j] = s[j];
            }
        }
        for (int64_t j = full; j < nr; j++)
            for (int64_t kk = 0; kk < kc; kk++)
                dst[kk * nr + j] = 0;
    }
    /* The part, in one pass over the block (under ones the padding
     * columns become ones too: their outputs are never read). */
    if (part == DMBP__LRP_WPOS || part == DMBP__LRP_WNEG)
        keep_sign(w->b, np * kc, part == DMBP__LRP_WPOS);
    else if (part == DMBP__LRP_WONE)
        for (int64_t i = 0; i < np * kc; i++)
            w->b[i] = 1;
}

/* ---- the direct loops (few output channels per group) --------------- */

/* Output positions o (0 <= o < out) whose input o s - p + k d is in
 * [0, in): [*lo, *hi). */
static void valid_range(int64_t in, int64_t out, int64_t s, int64_t p,
                        int64_t kd, int64_t *lo, int64_t *hi)
{
    int64_t off = kd - p; /* input = o s + off */
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;
    *lo = a;
    *hi = b < out ? b : out;
}

/* Output channel oc's plane into acc (forward), or input channel ic's
 * (transpose), each a sum in double over taps in order. */
static void direct_fwd(const dmbp__conv_geo *g, const float *w, int part,
                       const float *x, int64_t oc, double *acc)
{
    int64_t icg = g->C / g->group, ocg = g->OC / g->group;
    memset(acc, 0, (size_t)(g->OH * g->OW) * sizeof(double));
    for (int64_t j = 0; j < icg; j++) {
        const float *xc = x + ((oc / ocg) * icg + j) * g->H * g->W;
        for (int64_t ky = 0; ky < g->KH; ky++) {
            int64_t y0, y1;
            valid_range(g->H, g->OH, g->sh, g->ph, ky * g->dh, &y0, &y1);
            for (int64_t kx = 0; kx < g->KW; kx++) {
                double wv = dmbp__lrp_wpart(
                    w[((oc * icg + j) * g->KH + ky) * g->KW + kx], part);
                int64_t x0, x1;
                valid_range(g->W, g->OW, g->sw, g->pw, kx * g->dw, &x0, &x1);
                if (wv == 0)
                    continue;
                for (int64_t oy = y0; oy < y1; oy++) {
                    const float *xr = xc +
                                      (oy * g->sh - g->ph + ky * g->dh) *
                                          g->W - g->pw + kx * g->dw;
                    double *ar = acc + oy * g->OW;
                    for (int64_t ox = x0; ox < x1; ox++)
                        ar[ox] += wv * xr[ox * g->sw];
                }
            }
        }
    }
}

static void direct_bwd(const dmbp__conv_geo *g, const float *w, int part,
                       const float *dy, int64_t ic, double *acc)
{
    int64_t icg = g->C / g->group, ocg = g->OC / g->group;
    int64_t gi = ic / icg, j = ic % icg;
    memset(acc, 0, (size_t)(g->H * g->W) * sizeof(double));
    for (int64_t oc = gi * ocg; oc < (gi + 1) * ocg; oc++) {
        const float *yo = dy + oc * g->OH * g->OW;
        for (int64_t ky = 0; ky < g->KH; ky++) {
            int64_t y0, y1;
            valid_range(g->H, g->OH, g->sh, g->ph, ky * g->dh, &y0, &y1);
            for (int64_t kx = 0; kx < g->KW; kx++) {
                double wv = dmbp__lrp_wpart(
                    w[((oc * icg + j) * g->KH + ky) * g->KW + kx], part);
                int64_t x0, x1;
                valid_range(g->W, g->OW, g->sw, g->pw, kx * g->dw, &x0, &x1);
                if (wv == 0)
                    continue;
                for (int64_t oy = y0; oy < y1; oy++) {
                    double *ar = acc +
                                 (oy * g->sh - g->ph + ky * g->dh) * g->W -
                                 g->pw + kx * g->dw;
                    const float *yr = yo + oy * g->OW;
                    for (int64_t ox = x0; ox < x1; ox++)
                        ar[ox * g->sw] += wv * yr[ox];
                }
            }
        }
    }
}

/* Forward or transpose, one plane per channel, channels across threads. */
static dmbp_status direct(const dmbp__conv_geo *g, const float *w,
                          int part, const float *src, float *dst, bool fwd)
{
    int64_t plane = fwd ? g->OH * g->OW : g->H * g->W;
    int64_t n = fwd ? g->OC : g->C;
    int nt = omp_get_max_threads();
    double *acc = dmbp__malloc((size_t)(plane * nt) * sizeof(double));
    if (!acc)
        return DMBP_ERR_NOMEM;
#pragma omp parallel num_threads(nt)
    {
        double *a = acc + omp_get_thread_num() * plane;
#pragma omp for schedule(dynamic)
        for (int64_t c = 0; c < n; c++) {
            if (fwd)
                direct_fwd(g, w, part, src, c, a);
            else
                direct_bwd(g, w, part, src, c, a);
            for (int64_t i = 0; i < plane; i++)
                dst[c * plane + i] = (float)a[i];
        }
    }
    free(acc);
    return DMBP_OK;
}

/* ---- forward -------------------------------------------------------- */

/* Item: (group, block of TILE_N output channels, tile of TILE_M
 * positions). */
static void fwd_item(const dmbp__conv_geo *g, const kernel *k, work *w,
                     const float *wt, int part, const float *x, float *y,
                     int64_t item)
{
    int64_t icg = g->C / g->group, ocg = g->OC / g->group;
    int64_t taps = g->KH * g->KW, K = icg * taps, N = g->OH * g->OW;
    int64_t ptiles = (N + TILE_M - 1) / TILE_M;
    int64_t ctiles = (ocg + TILE_N - 1) / TILE_N;
    int64_t gi = item / (ptiles * ctiles), rest = item % (ptiles * ctiles);
    int64_t oc0 = rest / ptiles * TILE_N, n0 = rest % ptiles * TILE_M;
    int64_t m = N - n0 < TILE_M ? N - n0 : TILE_M;
    int64_t nn = ocg - oc0 < TILE_N ? ocg - oc0 : TILE_N;
    int64_t mp = round_up(m, k->mr), np = round_up(nn, k->nr);
    const float *xg = x + gi * icg * g->H * g->W;
    const float *wg = wt + gi * ocg * K;
    origins(g, n0, m, w);
    clear_c(w, mp);
    for (int64_t k0 = 0; k0 < K; k0 += TILE_K) {
        int64_t kc = K - k0 < TILE_K ? K - k0 : TILE_K;
        pack_im2col(g, k, w, xg, n0, m, k0, kc);
        pack_b(k, w, wg, part, K, true, oc0, nn, k0, kc);
        tile_product(k, w, kc, mp, np);
    }
    float *yg = y + (gi * ocg + oc0) * N + n0;
    for (int64_t j = 0; j < nn; j++)
        for (int64_t i = 0; i < m; i++)
            yg[j * N + i] = (float)w->c[i * TILE_N + j];
}

dmbp_status dmbp__conv_map_fwd(const void *ctx, const float *wt, int part,
                               const float *x, float *y)
{
    const dmbp__conv_geo *g = ctx;
    int64_t ocg = g->OC / g->group, N = g->OH * g->OW;
    if (ocg <= DIRECT_MAX_OCG)
        return direct(g, wt, part, x, y, true);
    kernel k = pick_kernel();
    int nt = omp_get_max_threads();
    work *w = dmbp__calloc((size_t)nt, sizeof *w);
    void *block = w ? work_alloc(nt, 0, w) : NULL;
    if (!block) {
        free(w);
        return DMBP_ERR_NOMEM;
    }
    int64_t items = g->group * ((ocg + TILE_N - 1) / TILE_N) *
                    ((N + TILE_M - 1) / TILE_M);
#pragma omp parallel for schedule(dynamic) num_threads(nt)
    for (int64_t it = 0; it < items; it++)
        fwd_item(g, &k, &w[omp_get_thread_num()], wt, part, x, y, it);
    free(block);
    free(w);
    return DMBP_OK;
}

/* ---- transpose ------------------------------------------------------ */

static int64_t gcd(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Input channels per item: enough items for the threads, blocks whose
 * channel x tap columns fill whole NR panels where the channels allow,
 * planes within PLANES_BYTES. */
static int64_t channel_block(const dmbp__conv_geo *g, const kernel *k,
                             int nt)
{
    int64_t icg = g->C / g->group, taps = g->KH * g->KW;
    int64_t plane = g->H * g->W * (int64_t)sizeof(double);
    int64_t jb = icg * g->group / ((int64_t)ITEMS_PER_THREAD * nt);
    int64_t full = k->nr / gcd(taps, k->nr);
    jb = jb < full ? full : jb / full * full;
    if (jb > icg)
        jb = icg;
    int64_t cap = PLANES_BYTES / plane;
    if (jb > cap)
        jb = cap;
    int64_t par = icg * g->group / nt; /* at least one item a thread */
    if (jb > par)
        jb = par;
    return jb < 1 ? 1 : jb;
}

/* planes += the tile c (m positions, origins set; columns c0 .. c0 +
 * nn - 1 of the block, each an (input channel, tap)): col2im, position
 * by position, so that c is read in order. */
static void col2im(const dmbp__conv_geo *g, work *w, int64_t c0, int64_t nn,
                   int64_t m)
{
    int64_t taps = g->KH * g->KW, hw = g->H * g->W;
    int64_t ylast = (g->KH - 1) * g->dh, xlast = (g->KW - 1) * g->dw;
    for (int64_t j = 0; j < nn; j++) {
        int64_t t = (c0 + j) % taps;
        w->cy[j] = t / g->KW * g->dh;
        w->cx[j] = t % g->KW * g->dw;
        w->coff[j] = (c0 + j) / taps * hw + w->cy[j] * g->W + w->cx[j];
    }
    for (int64_t i = 0; i < m; i++) {
        const double *ci = w->c + i * TILE_N;
        int64_t iy = w->iy[i], ix = w->ix[i], at = iy * g->W + ix;
        if (iy >= 0 && iy + ylast < g->H && ix >= 0 && ix + xlast < g->W) {
            for (int64_t j = 0; j < nn; j++)
                w->planes[at + w->coff[j]] += ci[j];
            continue;
        }
        for (int64_t j = 0; j < nn; j++) {
            int64_t yy = iy + w->cy[j], xx = ix + w->cx[j];
            if (yy >= 0 && yy < g->H && xx >= 0 && xx < g->W)
                w->planes[at + w->coff[j]] += ci[j];
        }
    }
}

/* Item: (group, block of jb input channels): their planes, all
 * positions. */
static void bwd_item(const dmbp__conv_geo *g, const kernel *k, work *w,
                     const float *wt, int part, const float *dy, float *dx,
                     int64_t jb, int64_t item)
{
    int64_t icg = g->C / g->group, ocg = g->OC / g->group;
    int64_t taps = g->KH * g->KW, K = icg * taps, N = g->OH * g->OW;
    int64_t hw = g->H * g->W, blocks = (icg + jb - 1) / jb;
    int64_t gi = item / blocks, j0 = item % blocks * jb;
    int64_t nj = icg - j0 < jb ? icg - j0 : jb, cols = nj * taps;
    const float *dyg = dy + gi * ocg * N;
    const float *wg = wt + gi * ocg * K + j0 * taps;
    memset(w->planes, 0, (size_t)(nj * hw) * sizeof(double));
    for (int64_t n0 = 0; n0 < N; n0 += TILE_M) {
        int64_t m = N - n0 < TILE_M ? N - n0 : TILE_M;
        int64_t mp = round_up(m, k->mr);
        origins(g, n0, m, w);
        for (int64_t c0 = 0; c0 < cols; c0 += TILE_N) {
            int64_t nn = cols - c0 < TILE_N ? cols - c0 : TILE_N;
            clear_c(w, mp);
            for (int64_t k0 = 0; k0 < ocg; k0 += TILE_K) {
                int64_t kc = ocg - k0 < TILE_K ? ocg - k0 : TILE_K;
                pack_columns(k, w, dyg, N, n0, m, k0, kc);
                pack_b(k, w, wg, part, K, false, c0, nn, k0, kc);
                tile_product(k, w, kc, mp, round_up(nn, k->nr));
            }
            col2im(g, w, c0, nn, m);
        }
    }
    float *out = dx + (gi * icg + j0) * hw;
    for (int64_t i = 0; i < nj * hw; i++)
        out[i] = (float)w->planes[i];
}

dmbp_status dmbp__conv_map_bwd(const void *ctx, const float *wt, int part,
                               const float *dy, float *dx)
{
    const dmbp__conv_geo *g = ctx;
    int64_t icg = g->C / g->group, ocg = g->OC / g->group;
    if (ocg <= DIRECT_MAX_OCG)
        return direct(g, wt, part, dy, dx, false);
    kernel k = pick_kernel();
    int nt = omp_get_max_threads();
    int64_t jb = channel_block(g, &k, nt);
    work *w = dmbp__calloc((size_t)nt, sizeof *w);
    void *block = w ? work_alloc(nt, jb * g->H * g->W, w) : NULL;
    if (!block) {
        free(w);
        return DMBP_ERR_NOMEM;
    }
    int64_t items = g->group * ((icg + jb - 1) / jb);
#pragma omp parallel for schedule(dynamic) num_threads(nt)
    for (int64_t it = 0; it < items; it++)
        bwd_item(g, &k, &w[omp_get_thread_num()], wt, part, dy, dx, jb, it);
    free(block);
    free(w);
    return DMBP_OK;
}
