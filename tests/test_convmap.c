/* LRP's convolution maps (src/ops/convmap.c: tiled matrix products in
 * double) against the direct loops they replaced, kept here verbatim as
 * the reference, on random shapes: strides, pads at either end,
 * dilations, groups (depthwise included), 1x1, 1-D, tiles with partial
 * edges, several threads, every matrix kernel the CPU has.
 *
 * Each weight part the rules read (W, W+, W-, ones: the maps apply it as
 * they read W) against the reference on a copy of W so transformed.
 * The forward sums each output over the same terms in the same order as
 * the reference, so it must give the same bits. The transpose sums in
 * another order: each output within one float rounding of the
 * reference's plus TRANSPOSE_DTOL of the sum of the terms' magnitudes
 * (double's rounding of a reordered sum, far above what a K of a few
 * thousand terms can reach, far below a wrong or missing term). */
#include "testlib.h"

#include "ops/convmap.h"
#include "ops/lrp.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define TRANSPOSE_DTOL 1e-12
#define CASES 60
#define ZERO_WEIGHTS 0.3 /* the zplus rule's W+ has zeros */

/* ---- the reference: the loops src/ops/conv.c had before -------------- */

typedef dmbp__conv_geo conv_geo;

static void valid_range(int64_t in, int64_t out, int64_t s, int64_t p,
                        int64_t kd, int64_t *lo, int64_t *hi)
{
    int64_t off = kd - p; /* input = o s + off */
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;
    *lo = a;
    *hi = b < out ? b : out;
}

static void ref_fwd(const conv_geo *g, const float *w, const float *x,
                    float *y)
{
    int64_t icg = g->C / g->group, ocg = g->OC / g->group;
    int64_t plane = g->OH * g->OW;
    double *acc = malloc((size_t)plane * sizeof(double));
    for (int64_t oc = 0; oc < g->OC; oc++) {
        memset(acc, 0, (size_t)plane * sizeof(double));
        for (int64_t j = 0; j < icg; j++) {
            const float *xc = x + ((oc / ocg) * icg + j) * g->H * g->W;
            for (int64_t ky = 0; ky < g->KH; ky++) {
                int64_t y0, y1;
                valid_range(g->H, g->OH, g->sh, g->ph, ky * g->dh, &y0, &y1);
                for (int64_t kx = 0; kx < g->KW; kx++) {
                    double wv = w[((oc * icg + j) * g->KH + ky) * g->KW + kx];
                    int64_t x0, x1;
                    valid_range(g->W, g->OW, g->sw, g->pw, kx * g->dw, &x0,
                                &x1);
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
        for (int64_t i = 0; i < plane; i++)
            y[oc * plane + i] = (float)acc[i];
    }
    free(acc);
}

static void ref_bwd(const conv_geo *g, const float *w, const float *dy,
                    float *dx)
{
    int64_t icg = g->C / g->group, ocg = g->OC / g->group;
    int64_t plane = g->H * g->W;
    double *acc = malloc((size_t)plane * sizeof(double));
    for (int64_t ic = 0; ic < g->C; ic++) {
        memset(acc, 0, (size_t)plane * sizeof(double));
        int64_t gi = ic / icg, j = ic % icg;
        for (int64_t oc = gi * ocg; oc < (gi + 1) * ocg; oc++) {
            const float *yo = dy + oc * g->OH * g->OW;
            for (int64_t ky = 0; ky < g->KH; ky++) {
                int64_t y0, y1;
                valid_range(g->H, g->OH, g->sh, g->ph, ky * g->dh, &y0, &y1);
                for (int64_t kx = 0; kx < g->KW; kx++) {
                    double wv = w[((oc * icg + j) * g->KH + ky) * g->KW + kx];
                    int64_t x0, x1;
                    valid_range(g->W, g->OW, g->sw, g->pw, kx * g->dw, &x0,
                                &x1);
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
        for (int64_t i = 0; i < plane; i++)
            dx[ic * plane + i] = (float)acc[i];
    }
    free(acc);
}

/* ---- random cases ---------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int64_t pick(int64_t lo, int64_t hi) /* [lo, hi] */
{
    return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
}

static float *randoms(int64_t n, double zeros)
{
    float *v = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(next() >> 11) / 9007199254740992.0;
        v[i] = (double)(next() >> 11) / 9007199254740992.0 < zeros
                   ? 0.f
                   : (float)(2 * u - 1);
    }
    return v;
}

/* One output extent from input n, kernel k, stride s, dilation d, pads
 * pb and pe; 0 if none fits. */
static int64_t extent(int64_t n, int64_t k, int64_t s, int64_t d,
                      int64_t pb, int64_t pe)
{
    int64_t span = n + pb + pe - d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

/* Case i's geometry: a few fixed shapes that hit each path and tile
 * edge, then random ones. */
static bool make_case(int i, conv_geo *g)
{
    static const conv_geo fixed[] = {
        /* C  H   W   OC OH OW KH KW sh sw dh dw ph pw group: OH, OW set
         * below */
        {3, 45, 44, 20, 0, 0, 7, 7, 2, 2, 1, 1, 3, 3, 1},   /* a stem     */
        {40, 20, 21, 24, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* N, columns */
        {150, 5, 6, 140, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* K, N tiles */
        {40, 11, 13, 50, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1},  /* pointwise  */
        {300, 4, 4, 7, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1},    /* deep 1x1   */
        {12, 9, 10, 12, 0, 0, 3, 3, 2, 1, 1, 1, 1, 1, 12},  /* depthwise  */
        {16, 8, 9, 32, 0, 0, 3, 3, 1, 2, 2, 1, 2, 1, 4},    /* groups     */
        {6, 1, 50, 9, 0, 0, 1, 5, 1, 2, 1, 3, 0, 4, 3},     /* 1-D        */
        {64, 7, 7, 260, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* OC > tile  */
    };
    int nf = (int)(sizeof fixed / sizeof fixed[0]);
    int64_t pe_h, pe_w;
    if (i < nf) {
        *g = fixed[i];
        pe_h = g->ph;
        pe_w = g->pw;
    } else {
        int64_t group = pick(0, 3) == 0 ? pick(2, 6) : 1;
        bool depthwise = pick(0, 5) == 0;
        bool one_d = pick(0, 4) == 0;
        g->group = group;
        g->C = group * pick(1, 40);
        g->OC = group * pick(1, 48);
        if (depthwise) {
            g->group = g->C = pick(1, 12);
            g->OC = g->C * pick(1, 2);
        }
        g->H = one_d ? 1 : pick(1, 17);
        g->W = pick(1, 23);
        g->KH = one_d ? 1 : pick(1, 4);
        g->KW = pick(1, 5);
        g->sh = one_d ? 1 : pick(1, 3);
        g->sw = pick(1, 3);
        g->dh = one_d ? 1 : pick(1, 2);
        g->dw = pick(1, 3);
        g->ph = one_d ? 0 : pick(0, 2);
        g->pw = pick(0, 3);
        pe_h = one_d ? 0 : pick(0, 2);
        pe_w = pick(0, 3);
    }
    g->OH = extent(g->H, g->KH, g->sh, g->dh, g->ph, pe_h);
    g->OW = extent(g->W, g->KW, g->sw, g->dw, g->pw, pe_w);
    return g->OH > 0 && g->OW > 0;
}

static void absolute(float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = fabsf(v[i]);
}

/* One geometry and weight part on the current kernel and threads;
 * returns false after a failure. */
static bool check_case(int i, const conv_geo *g, int part, const char *isa,
                       int nt)
{
    int64_t nx = g->C * g->H * g->W, ny = g->OC * g->OH * g->OW;
    int64_t nw = g->OC * (g->C / g->group) * g->KH * g->KW;
    float *w_in = randoms(nw, ZERO_WEIGHTS), *x = randoms(nx, 0);
    float *dy = randoms(ny, 0);
    float *w = malloc((size_t)nw * sizeof(float));
    for (int64_t j = 0; j < nw; j++)
        w[j] = dmbp__lrp_wpart(w_in[j], part);
    float *y = malloc((size_t)ny * sizeof(float));
    float *y_ref = malloc((size_t)ny * sizeof(float));
    float *dx = malloc((size_t)nx * sizeof(float));
    float *dx_ref = malloc((size_t)nx * sizeof(float));
    float *dx_abs = malloc((size_t)nx * sizeof(float));
    int before = failures;
    ref_fwd(g, w, x, y_ref);
    ref_bwd(g, w, dy, dx_ref);
    CHECK(dmbp__conv_map_fwd(g, w_in, part, x, y) == DMBP_OK,
          "case %d: forward", i);
    CHECK(dmbp__conv_map_bwd(g, w_in, part, dy, dx) == DMBP_OK,
          "case %d: transpose", i);
    int64_t bad = 0, first = -1;
    for (int64_t o = 0; o < ny; o++)
        if (memcmp(&y[o], &y_ref[o], sizeof(float)) && bad++ == 0)
            first = o;
    CHECK(bad == 0, "case %d (%s, %d threads, part %d): forward differs "
          "from the direct loop at %lld of %lld outputs, first %lld: %.9g "
          "vs %.9g", i, isa, nt, part, (long long)bad, (long long)ny, (long long)first,
          bad ? y[first] : 0., bad ? y_ref[first] : 0.);
    absolute(w, nw);
    absolute(dy, ny);
    ref_bwd(g, w, dy, dx_abs);
    double worst = 0;
    bad = 0;
    for (int64_t o = 0; o < nx; o++) {
        double d = fabs((double)dx[o] - dx_ref[o]);
        double tol = FLT_EPSILON * fabs(dx_ref[o]) +
                     TRANSPOSE_DTOL * dx_abs[o];
        if (d > tol && bad++ == 0)
            first = o;
        if (dx_abs[o] > 0 && d / dx_abs[o] > worst)
            worst = d / dx_abs[o];
    }
    CHECK(bad == 0, "case %d (%s, %d threads, part %d): transpose differs "
          "from the direct loop at %lld of %lld inputs, first %lld: %.9g "
          "vs %.9g", i, isa, nt, part, (long long)bad, (long long)nx, (long long)first,
          bad ? dx[first] : 0., bad ? dx_ref[first] : 0.);
    if (failures != before)
        fprintf(stderr, "  geometry C %lld H %lld W %lld OC %lld OH %lld "
                "OW %lld K %lldx%lld s %lld,%lld d %lld,%lld p %lld,%lld "
                "group %lld; worst transpose difference %.3g of the terms' "
                "magnitude\n", (long long)g->C, (long long)g->H,
                (long long)g->W, (long long)g->OC, (long long)g->OH,
                (long long)g->OW, (long long)g->KH, (long long)g->KW,
                (long long)g->sh, (long long)g->sw, (long long)g->dh,
                (long long)g->dw, (long long)g->ph, (long long)g->pw,
                (long long)g->group, worst);
    free(w);
    free(w_in);
    free(x);
    free(dy);
    free(y);
    free(y_ref);
    free(dx);
    free(dx_ref);
    free(dx_abs);
    return failures == before;
}

int main(void)
{
    static const struct {
        int isa;
        const char *name;
    } isas[] = {{DMBP__CONV_SSE2, "sse2"},
                {DMBP__CONV_AVX2, "avx2"},
                {DMBP__CONV_AVX512, "avx512"}};
    static const int threads[] = {1, 2, 3};
    int ran = 0;
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        if (!dmbp__conv_map_isa(isas[k].isa)) {
            printf("convmap: no %s on this CPU\n", isas[k].name);
            continue;
        }
        for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
            omp_set_num_threads(threads[t]);
            rng = 0x9e3779b97f4a7c15u; /* the same cases each time */
            for (int i = 0; i < CASES; i++) {
                conv_geo g;
                if (!make_case(i, &g))
                    continue;
                for (int part = DMBP__LRP_W; part <= DMBP__LRP_WONE; part++)
                    ran += check_case(i, &g, part, isas[k].name,
                                      threads[t]);
            }
        }
    }
    dmbp__conv_map_isa(DMBP__CONV_AUTO);
    printf("convmap: %d cases agree, %d checks, %d failures\n", ran, checks,
           failures);
    return failures != 0;
}
