/* The model-randomisation check: each stage re-draws one more layer from
 * the top; we check the protocol's mechanics against things that must
 * hold whatever the model: a plan built with the stage's weights computes
 * the same maps as the check saw (deterministic, seeded), every
 * correlation is a finite number in [-1, 1], the stage count is the number
 * of weight layers, and fully random weights decorrelate the saliency map
 * of a trained model (rho well below 1), while randomising nothing (a
 * stage-0 comparison of the map with itself) would give exactly 1. */
#include "testlib.h"

#include <dmbp.h>
#include <dmbp_eval.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"


/* A trained model's saliency keeps some structure of the image even with
 * random weights (edges); what must go is most of the agreement. */
#define MAX_RHO_ALL_RANDOM 0.6

static void run(const char *model, const char *png)
{
    dmbp_model *m = tl_model(model);
    dmbp_image x;
    if (!m || tl_input(m, png, &x)) {
        dmbp_model_free(m);
        return;
    }
    int L = dmbp_model_num_weight_layers(m);
    CHECK(L >= 3, "%s: %d weight layers", model, L);
    double *rho = malloc(L * sizeof *rho), *rho2 = malloc(L * sizeof *rho2);
    const char **names = calloc(L, sizeof *names);
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_SALIENCY;
    dmbp_status st = randomization_once(m, x.data, x.channels, x.height,
                                             x.width, -1, &o, 42, rho, names);
    CHECK(!st, "%s: %s", model, dmbp_last_error());
    st = randomization_once(m, x.data, x.channels, x.height, x.width, -1,
                                 &o, 42, rho2, NULL);
    CHECK(!st, "again: %s", dmbp_last_error());
    printf("%s:", model);
    for (int s = 0; s < L; s++) {
        CHECK(isfinite(rho[s]) && rho[s] >= -1 && rho[s] <= 1,
              "stage %d rho %g", s, rho[s]);
        CHECK(rho[s] == rho2[s], "stage %d not repeatable", s);
        CHECK(names[s] != NULL, "stage %d unnamed", s);
        printf(" %s %.3f", names[s] ? names[s] : "?", rho[s]);
    }
    printf("\n");
    CHECK(rho[L - 1] < MAX_RHO_ALL_RANDOM, "%s: all layers random, rho %.3f",
          model, rho[L - 1]);
    free(rho);
    free(rho2);
    free(names);
    dmbp_image_free(&x);
    dmbp_model_free(m);
}

int main(void)
{
    run("models/fmnist_vgg.onnx", "models/samples/pullover.png");
    run("models/fmnist_resnet.onnx", "models/samples/pullover.png");
    printf("randomize: %d failures\n", failures);
    return failures ? 1 : 0;
}
