// predict.cpp - classify one image with libdmbp from C++: every object in
// an owning dmbp::handle, errors as exceptions.
//   g++ -std=c++17 predict.cpp $(pkg-config --cflags --libs dmbp)
//   ./a.out models/fmnist_vgg.onnx models/samples/ankle_boot.png
#include <dmbp.hpp>

#include <cstdio>
#include <vector>

int main(int argc, char **argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s MODEL.onnx IMAGE\n", argv[0]);
        return 2;
    }
    try {
        dmbp::model model = dmbp::load_model(argv[1]);
        dmbp_preprocess_options pre = dmbp::preprocess_defaults(model);
        dmbp::image img = dmbp::load_image(argv[2]);
        dmbp::image x = dmbp::preprocess(img, pre);

        dmbp_plan_options po;
        dmbp_plan_options_init(&po);
        po.height = x.height();
        po.width = x.width();
        dmbp::plan plan = dmbp::make_plan(model, &po);

        int k = dmbp_model_num_classes(model);
        std::vector<float> logits(k), prob(k);
        dmbp::check(dmbp_plan_forward(plan, x.data(), logits.data()));
        dmbp_softmax(logits.data(), k, prob.data());
        int best = 0;
        for (int i = 1; i < k; i++)
            if (prob[i] > prob[best])
                best = i;
        const char *label = dmbp_model_label(model, best);
        std::printf("%s: class %d (%s) p=%.4f\n", argv[2], best,
                    label ? label : "-", prob[best]);
    } catch (const dmbp::error &e) {
        std::fprintf(stderr, "predict: %s\n", e.what());
        return 1;
    }
    return 0;
}
