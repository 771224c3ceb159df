/* The hand-written sweeps of the reverse passes, the only element-wise
 * work not done by oneDNN. The library is built for the baseline x86-64
 * (SSE2) so that it runs everywhere; these few loops are compiled again
 * for AVX2 and AVX-512 and the best one is picked at load time
 * (target_clones): they are memory-bound, and 16 floats a cycle instead of
 * 1 is what keeps them small next to the convolutions. */
#include "plan/kernels.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define DMBP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DMBP_CLONES
#endif

/* oneDNN's blocked activation layouts (nChw16c, nChw8c). */
#define BLOCK16 16
#define BLOCK8 8

DMBP_CLONES
void dmbp__k_gate(const float *u, const float *in, float *out, int64_t n,
                  int clip, float a, float b, int guided)
{
    if (clip) {
        for (int64_t i = 0; i < n; i++) {
            float g = u[i] > a && u[i] < b ? 1.f : 0.f;
            float v = in[i] * g;
            out[i] = guided && !(in[i] > 0) ? 0.f : v;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float g = u[i] > 0 ? 1.f : a;
            float v = in[i] * g;
            out[i] = guided && !(in[i] > 0) ? 0.f : v;
        }
    }
}

DMBP_CLONES
void dmbp__k_add(float *dst, const float *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] += src[i];
}

/* out = in * m per channel over one channel block (cn channels of a
 * block of B, the rest padding written as 0), `spatial` positions
 * `step` floats apart. */
DMBP_CLONES
void dmbp__k_scale_block(const float *in, float *out, const float *m,
                         int64_t cn, int64_t B, int64_t spatial,
                         int64_t step)
{
    if (B == BLOCK16 && cn == BLOCK16 && step == BLOCK16) {
        float mm[BLOCK16];
        for (int ci = 0; ci < BLOCK16; ci++)
            mm[ci] = m[ci];
        for (int64_t sp = 0; sp < spatial; sp++)
            for (int ci = 0; ci < BLOCK16; ci++)
                out[sp * BLOCK16 + ci] = in[sp * BLOCK16 + ci] * mm[ci];
        return;
    }
    if (B == BLOCK8 && cn == BLOCK8 && step == BLOCK8) {
        float mm[BLOCK8];
        for (int ci = 0; ci < BLOCK8; ci++)
            mm[ci] = m[ci];
        for (int64_t sp = 0; sp < spatial; sp++)
            for (int ci = 0; ci < BLOCK8; ci++)
                out[sp * BLOCK8 + ci] = in[sp * BLOCK8 + ci] * mm[ci];
        return;
    }
    if (B == 1 && step == 1) {
        float mm = m[0];
        for (int64_t sp = 0; sp < spatial; sp++)
            out[sp] = in[sp] * mm;
        return;
    }
    for (int64_t sp = 0; sp < spatial; sp++) {
        int64_t o = sp * step;
        for (int64_t ci = 0; ci < cn; ci++)
            out[o + ci] = in[o + ci] * m[ci];
        for (int64_t ci = cn; ci < B && B > 1; ci++)
            out[o + ci] = 0;
    }
}

/* acc[c] = sum_p diff * z and z *= m, per channel of one block: the mask
 * gradient's reduction fused with the mask itself. Sums in double: a
 * channel has up to ~1e5 positions. */
DMBP_CLONES
void dmbp__k_mask_reduce(const float *diff, float *z, const float *m,
                         int64_t cn, int64_t B, int64_t spatial, int64_t step,
                         double *acc)
{
    if (B == BLOCK16 && cn == BLOCK16 && step == BLOCK16) {
        double a[BLOCK16] = {0};
        float mm[BLOCK16];
        for (int ci = 0; ci < BLOCK16; ci++)
            mm[ci] = m[ci];
        for (int64_t sp = 0; sp < spatial; sp++)
            for (int ci = 0; ci < BLOCK16; ci++) {
                float zz = z[sp * BLOCK16 + ci];
                a[ci] += (double)(diff[sp * BLOCK16 + ci] * zz);
                z[sp * BLOCK16 + ci] = zz * mm[ci];
            }
        for (int ci = 0; ci < BLOCK16; ci++)
            acc[ci] = a[ci];
        return;
    }
    if (B == 1 && step == 1) {
        double a = 0;
        float mm = m[0];
        for (int64_t sp = 0; sp < spatial; sp++) {
            a += (double)(diff[sp] * z[sp]);
            z[sp] *= mm;
        }
        acc[0] = a;
        return;
    }
    for (int64_t ci = 0; ci < cn; ci++)
        acc[ci] = 0;
    for (int64_t sp = 0; sp < spatial; sp++) {
        int64_t o = sp * step;
        for (int64_t ci = 0; ci < cn; ci++) {
            acc[ci] += (double)(diff[o + ci] * z[o + ci]);
            z[o + ci] *= m[ci];
        }
    }
}
