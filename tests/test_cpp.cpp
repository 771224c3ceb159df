// dmbp.hpp: handles own what they should and nothing else. A view of the
// caller's pixels is never freed (freeing a stack array aborts, and ASan
// names it), images and handles move, every object type has a handle, and
// the loading helpers throw dmbp::error with the library's message.
#include <dmbp.hpp>

#include "testlib.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

int main()
{
    float pixels[2 * 2] = {0.f, 0.25f, 0.5f, 1.f};
    {
        dmbp::image v = dmbp::image::view(1, 2, 2, pixels);
        CHECK(!v.owns() && v.data() == pixels, "view owns its pixels");
        dmbp::image moved = std::move(v);
        CHECK(moved.data() == pixels && v.data() == nullptr, "view move");
    } // destroyed: must not free the stack array
    CHECK(pixels[3] == 1.f, "view changed the pixels");

    dmbp::model m = dmbp::load_model(test_path("models/fmnist_vgg.onnx"));
    CHECK(m && dmbp_model_num_classes(m) == 10, "model handle");
    dmbp_preprocess_options pre = dmbp::preprocess_defaults(m);
    dmbp::image img =
        dmbp::load_image(test_path("models/samples/ankle_boot.png"));
    CHECK(img.owns() && img.data(), "loaded image not owned");
    dmbp::image x = dmbp::preprocess(img, pre);
    dmbp::image y;
    y = std::move(x); // the pixels move with their ownership
    CHECK(y.owns() && !x.owns() && !x.data(), "owned move");

    dmbp_explain_options eo;
    dmbp_explain_options_init(&eo);
    eo.method = DMBP_METHOD_GXI;
    dmbp::session s = dmbp::make_session(m);
    dmbp::result r = dmbp::explain(s, y, nullptr, &eo);
    CHECK(dmbp_result_target(r, 0) == 9, "ankle boot not class 9");
    dmbp_tensor_view map = dmbp::find(r, 0, "map");
    CHECK(map.data && map.shape.ndim == 3, "find map");

    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    dmbp::plan p = dmbp::make_plan(m, &po);
    CHECK(p && s && dmbp_session_model(s) == m.get(),
          "plan / session handles");

    // A classifier of one image (the preprocessed ankle boot, copied).
    dmbp_classifier_options co;
    dmbp_classifier_options_init(&co);
    co.user = &y;
    co.load = [](void *u, int, dmbp_image *out) {
        const dmbp_image *in = static_cast<dmbp::image *>(u)->get();
        dmbp_preprocess_options same;
        dmbp_preprocess_options_init(&same);
        same.resize = same.crop = 0;
        same.channels = in->channels;
        for (int k = 0; k < 3; k++)
            same.mean[k] = 0.f, same.std[k] = 1.f;
        return dmbp_image_preprocess(in, &same, out);
    };
    dmbp_classifier *raw_cl = nullptr;
    dmbp::check(dmbp_classifier_create(m, 1, &co, &raw_cl));
    dmbp::classifier cl(raw_cl);
    const float *logits = nullptr;
    dmbp::check(dmbp_classifier_logits(cl, 0, &logits));
    CHECK(std::fabs(logits[9] - dmbp_result_logit(r, 0)) < 1e-3f,
          "classifier handle: logit %g, explain's %g", logits[9],
          dmbp_result_logit(r, 0));

    bool threw = false;
    try {
        (void)dmbp::find(r, 0, "nope");
    } catch (const dmbp::error &err) {
        threw = err.status == DMBP_ERR_ARG &&
                std::strstr(err.what(), "'nope'") != nullptr;
    }
    CHECK(threw, "find of an unknown name did not throw its message");
    threw = false;
    try {
        dmbp::image bad = dmbp::load_image("/nonexistent/x.png");
        (void)bad;
    } catch (const dmbp::error &err) {
        threw = err.status == DMBP_ERR_IO &&
                std::strstr(err.what(), "/nonexistent/x.png") != nullptr;
    }
    CHECK(threw, "load_image of a missing file did not throw");
    // The image-set, labels and evaluation handles free their objects.
    {
        dmbp_image_set *raw = nullptr;
        dmbp::check(dmbp_image_set_open(test_path("models/samples"), &raw));
        dmbp::image_set set(raw);
        CHECK(dmbp_image_set_count(set) == 10, "image_set handle");
        dmbp::labels none;
        dmbp::eval_run run;
        CHECK(!none && !run, "empty handles");
        const char line[] = "{\"input\": \"a.png\", \"status\": \"failed\"}";
        dmbp_manifest_line *ml = nullptr;
        CHECK(dmbp_manifest_parse(line, sizeof line - 1, &ml) ==
                  DMBP_MANIFEST_ITEM,
              "manifest line");
        dmbp::manifest_line rec(ml);
        CHECK(rec && std::strcmp(dmbp_manifest_input(rec), "a.png") == 0,
              "manifest_line handle");
        // A set's ledger (no manifest: nothing on disk) closes with it.
        const char *inputs[] = {"a.png", "b.png"};
        dmbp_setrun_options so;
        dmbp_setrun_options_init(&so);
        dmbp_setrun *sr = nullptr;
        dmbp::check(dmbp_setrun_open(inputs, 2, &so, &sr));
        dmbp::setrun ledger(sr);
        int todo = 0;
        CHECK(ledger && dmbp_setrun_todo(ledger, &todo) && todo == 2,
              "setrun handle");
    }
    if (failures) {
        std::fprintf(stderr, "test_cpp: %d failures\n", failures);
        return 1;
    }
    std::printf("test_cpp: ok\n");
    return 0;
}
