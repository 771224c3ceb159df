// predict.cpp - classify one PNG with libdmbp from C++.
//   g++ -std=c++11 predict.cpp $(pkg-config --cflags --libs dmbp)
//   ./a.out models/fmnist_vgg.onnx models/samples/ankle_boot.png
#include <dmbp.hpp>

#include <cstdio>
#include <vector>

int main(int argc, char **argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s MODEL.onnx IMAGE.png\n", argv[0]);
        return 2;
    }
    try {
        dmbp_model *raw = nullptr;
        dmbp::check(dmbp_model_load(argv[1], &raw));
        dmbp::model_ptr model(raw);

        dmbp_preprocess_options pre;
        dmbp::check(dmbp_model_preprocess_defaults(model.get(), &pre));
        dmbp::image img, x;
        dmbp::check(dmbp_image_load_png(argv[2], &img));
        dmbp::check(dmbp_image_preprocess(&img, &pre, &x));

        dmbp_plan_options po;
        dmbp_plan_options_init(&po);
        po.height = x.height;
        po.width = x.width;
        dmbp_plan *praw = nullptr;
        dmbp::check(dmbp_plan_create(model.get(), &po, &praw));
        dmbp::plan_ptr plan(praw);

        int k = dmbp_model_num_classes(model.get());
        std::vector<float> logits(k), prob(k);
        dmbp::check(dmbp_plan_forward(plan.get(), x.data, logits.data()));
        dmbp_softmax(logits.data(), k, prob.data());
        int best = 0;
        for (int i = 1; i < k; i++)
            if (prob[i] > prob[best])
                best = i;
        const char *label = dmbp_model_label(model.get(), best);
        std::printf("%s: class %d (%s) p=%.4f\n", argv[2], best,
                    label ? label : "-", prob[best]);
    } catch (const dmbp::error &e) {
        std::fprintf(stderr, "predict: %s\n", e.what());
        return 1;
    }
    return 0;
}
