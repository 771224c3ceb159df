/* A program written for libdmbp 0.2, compiled twice: against 0.2's headers
 * (tests/compat/dmbp-0.2: src/dmbp.h and src/dmbp_render.h of 4b75146^, the
 * last layout before 0.3 appended fields to dmbp_explain_options and
 * dmbp_render_options) and against today's. tests/compat_0_2.sh runs both
 * against today's library and checks that their outputs are the same
 * bytes: a program built against the smaller, older structs gets the
 * defaults for the fields added since (issue #22's Done-when).
 *
 *   client_0_2 MODEL.onnx OUT.bin OUT.png
 * writes to OUT.bin, for gxi, IG, SmoothGrad and DMBP (5 iterations) on
 * one seeded input, the explained map (DMBP: A+ then A-), and renders
 * DMBP's maps to OUT.png with the render defaults; prints the sizes of the
 * two options structs it was compiled with. */
#include <dmbp.h>
#include <dmbp_render.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    fprintf(stderr, "client_0_2: %s: %s\n", what, dmbp_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.onnx OUT.bin OUT.png\n", argv[0]);
        return 2;
    }
    dmbp_model *m = NULL;
    dmbp_session *s = NULL;
    if (dmbp_model_load(argv[1], &m))
        return fail(argv[1]);
    if (dmbp_session_create(m, &s))
        return fail("session");
    dmbp_shape in = dmbp_model_input_shape(m);
    int c = (int)in.dims[1], h = (int)in.dims[2], w = (int)in.dims[3];
    size_t per = (size_t)c * h * w;
    float *x = malloc(per * sizeof(float));
    if (!x)
        return 1;
    uint64_t r = 88172645463325252ull; /* xorshift64: inputs in [-1, 2) */
    for (size_t i = 0; i < per; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        x[i] = (float)((r >> 40) / (double)(1 << 24) * 3.0 - 1.0);
    }
    FILE *out = fopen(argv[2], "wb");
    if (!out)
        return 1;
    static const dmbp_method methods[] = {DMBP_METHOD_GXI, DMBP_METHOD_IG,
                                          DMBP_METHOD_SMOOTHGRAD,
                                          DMBP_METHOD_DMBP};
    int status = 0;
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        dmbp_explain_options o;
        dmbp_explain_options_init(&o);
        o.method = methods[k];
        o.dmbp.iterations = 5;
        dmbp_result *res = NULL;
        if (dmbp_explain(s, x, 1, c, h, w, NULL, &o, &res)) {
            status = fail(dmbp_method_name(methods[k]));
            break;
        }
        int a = dmbp_result_find_array(res, "map");
        int b = -1;
        if (a < 0) {
            a = dmbp_result_find_array(res, "a_pos");
            b = dmbp_result_find_array(res, "a_neg");
        }
        fwrite(dmbp_result_array(res, 0, a), sizeof(float), per, out);
        if (b >= 0) {
            fwrite(dmbp_result_array(res, 0, b), sizeof(float), per, out);
            dmbp_render_options ro;
            dmbp_render_options_init(&ro);
            /* over a grey ramp as the picture */
            dmbp_image bg = {1, h, w, malloc((size_t)h * w * sizeof(float))};
            for (int i = 0; bg.data && i < h * w; i++)
                bg.data[i] = (float)(i % w) / (float)w;
            if (!bg.data || dmbp_render_signed(dmbp_result_array(res, 0, a),
                                               dmbp_result_array(res, 0, b), c,
                                               h, w, &bg, &ro, argv[3]))
                status = fail("render");
            free(bg.data);
        }
        dmbp_result_free(res);
    }
    if (fclose(out))
        status = 1;
    printf("dmbp_explain_options %zu dmbp_render_options %zu\n",
           sizeof(dmbp_explain_options), sizeof(dmbp_render_options));
    free(x);
    dmbp_session_free(s);
    dmbp_model_free(m);
    return status;
}
