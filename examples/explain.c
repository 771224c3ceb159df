/* explain.c - explain one image with DMBP and draw the map on the picture.
 *   cc explain.c $(pkg-config --cflags --libs dmbp)
 *   ./a.out models/fmnist_vgg.onnx models/samples/ankle_boot.png boot.png
 * prints the explained class and DMBP's decomposition F = F+ + F- + Fn and
 * writes boot.png: positive evidence red, negative blue. */
#include <dmbp.h>
#include <dmbp_render.h>

#include <stdio.h>

/* A short run: the example should take a second, not the default 200. */
#define EXAMPLE_ITERATIONS 50

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.onnx IMAGE OUT.png\n", argv[0]);
        return 2;
    }
    dmbp_model *m = NULL;
    dmbp_session *s = NULL; /* the model's plans, kept between jobs */
    dmbp_result *r = NULL;
    dmbp_image img = {0}, x = {0};
    dmbp_preprocess_options pre;
    dmbp_explain_options eo;
    dmbp_tensor_view a_pos, a_neg;
    int rc = 1;
    if (dmbp_model_load(argv[1], &m) ||
        dmbp_model_preprocess_defaults(m, &pre) ||
        dmbp_image_load(argv[2], NULL, &img) ||
        dmbp_image_preprocess(&img, &pre, &x) ||
        dmbp_session_create(m, &s))
        goto fail;

    dmbp_explain_options_init(&eo); /* method DMBP, preset "dmbp" */
    eo.preprocess = &pre;
    eo.dmbp.iterations = EXAMPLE_ITERATIONS;
    if (dmbp_explain(s, x.data, 1, x.channels, x.height, x.width, NULL, &eo,
                     &r)) /* targets NULL: the top class */
        goto fail;

    static const char *const parts[] = {"F", "F_pos", "F_neg", "F_nuisance"};
    int t = dmbp_result_target(r, 0);
    const char *label = dmbp_model_label(m, t);
    printf("class %d (%s)\n", t, label ? label : "-");
    for (int i = 0; i < 4; i++) {
        dmbp_tensor_view v;
        if (dmbp_result_find(r, 0, parts[i], &v))
            goto fail;
        printf("%-10s = %+.4f\n", parts[i], v.value);
    }
    /* The attributions by name, drawn on the picture as loaded. */
    if (dmbp_result_find(r, 0, "a_pos", &a_pos) ||
        dmbp_result_find(r, 0, "a_neg", &a_neg) ||
        dmbp_render_signed_original(a_pos.data, a_neg.data, x.channels,
                                    x.height, x.width, &img, &pre, NULL,
                                    argv[3]))
        goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "explain: %s\n", dmbp_last_error());
done:
    dmbp_result_free(r);
    dmbp_session_free(s);
    dmbp_image_free(&x);
    dmbp_image_free(&img);
    dmbp_model_free(m);
    return rc;
}
