/* eval.c - how faithful is a map? Gradient x input of one image, scored by
 * deletion and insertion (the area under the target's probability as the
 * highest-scoring pixels are removed / inserted).
 *   cc eval.c $(pkg-config --cflags --libs dmbp)
 *   ./a.out models/fmnist_vgg.onnx models/samples/ankle_boot.png */
#include <dmbp.h>
#include <dmbp_eval.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.onnx IMAGE\n", argv[0]);
        return 2;
    }
    dmbp_model *m = NULL;
    dmbp_session *s = NULL; /* explaining and the metrics share its plans */
    dmbp_result *r = NULL;
    dmbp_image img = {0}, x = {0};
    dmbp_preprocess_options pre;
    dmbp_explain_options eo;
    dmbp_eval_options vo;
    dmbp_tensor_view map;
    float *scores = NULL, *curve = NULL;
    double del, ins;
    int rc = 1;
    if (dmbp_model_load(argv[1], &m) ||
        dmbp_model_preprocess_defaults(m, &pre) ||
        dmbp_image_load(argv[2], NULL, &img) ||
        dmbp_image_preprocess(&img, &pre, &x) ||
        dmbp_session_create(m, &s))
        goto fail;
    dmbp_explain_options_init(&eo);
    eo.method = DMBP_METHOD_GXI;
    if (dmbp_explain(s, x.data, 1, x.channels, x.height, x.width, NULL, &eo,
                     &r) ||
        dmbp_result_find(r, 0, "map", &map))
        goto fail;

    dmbp_eval_options_init(&vo); /* 20 steps, zero / blur substrates */
    scores = malloc((size_t)x.height * x.width * sizeof *scores);
    curve = malloc((size_t)dmbp_eval_curve_points(&vo, x.height, x.width) *
                   sizeof *curve);
    if (!scores || !curve) {
        fprintf(stderr, "eval: out of memory\n");
        goto done;
    }
    int t = dmbp_result_target(r, 0);
    /* Pixels ranked by the positive part of the map (sign > 0). */
    if (dmbp_eval_pixel_scores(map.data, x.channels, x.height, x.width, 1,
                               scores) ||
        dmbp_eval_deletion(s, x.data, x.channels, x.height, x.width, t,
                           scores, &vo, curve, &del) ||
        dmbp_eval_insertion(s, x.data, x.channels, x.height, x.width, t,
                            scores, &vo, curve, &ins))
        goto fail;
    printf("class %d: deletion AUC %.4f (lower is better), insertion AUC "
           "%.4f (higher is better)\n", t, del, ins);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "eval: %s\n", dmbp_last_error());
done:
    free(scores);
    free(curve);
    dmbp_result_free(r);
    dmbp_session_free(s);
    dmbp_image_free(&x);
    dmbp_image_free(&img);
    dmbp_model_free(m);
    return rc;
}
