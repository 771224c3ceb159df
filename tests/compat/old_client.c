/* A program written for libdmbp 0.1 (bbe9d0f), compiled against that
 * release's header (tests/compat/dmbp-0.1/dmbp.h) and linked against a
 * stand-in of that release's library (stub_0_1.c, soname libdmbp.so.0).
 * tests/compat_old_header.sh runs it against the current library to check
 * that it is refused cleanly, never run with a misread options struct.
 *
 * With -DUSE_INIT it fills its options with 0.1's dmbp_explain_options_init
 * (a function then); without, it fills the struct by hand, as a 0.1
 * program could (the struct has no struct_size); with -DNO_OPTIONS it
 * passes NULL options. Every way, it passes the model where 0.2 takes a
 * session. */
#include <dmbp.h>

#include <stdio.h>
#include <string.h>

#define SIDE 28

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
        return 2;
    }
    dmbp_model *m = NULL;
    if (dmbp_model_load(argv[1], &m)) {
        fprintf(stderr, "old_client: %s\n", dmbp_last_error());
        return 1;
    }
    dmbp_explain_options o;
#ifdef USE_INIT
    dmbp_explain_options_init(&o);
#else
    memset(&o, 0, sizeof o);
    o.std[0] = o.std[1] = o.std[2] = 1.f;
    o.max_lanes = 1;
    o.steps = 1;
    o.iterations = 1;
    o.lr = 0.05f;
#endif
    o.method = DMBP_METHOD_GXI;
    static float x[SIDE * SIDE];
    dmbp_result *r = NULL;
#ifdef NO_OPTIONS
    dmbp_status st = dmbp_explain(m, x, 1, 1, SIDE, SIDE, NULL, NULL, &r);
#else
    dmbp_status st = dmbp_explain(m, x, 1, 1, SIDE, SIDE, NULL, &o, &r);
#endif
    if (st) {
        fprintf(stderr, "old_client: %s: %s\n", dmbp_status_str(st),
                dmbp_last_error());
        dmbp_model_free(m);
        return 1;
    }
    printf("explained: target %d\n", dmbp_result_target(r, 0));
    dmbp_result_free(r);
    dmbp_model_free(m);
    return 0;
}
