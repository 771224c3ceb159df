// dmbp.hpp - thin C++ helpers over dmbp.h: owning pointers with the right
// deleters and a status check that throws. Nothing else: the C API is the
// API.
#ifndef DMBP_HPP
#define DMBP_HPP

#include <dmbp.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace dmbp {

struct model_deleter {
    void operator()(dmbp_model *m) const { dmbp_model_free(m); }
};
struct plan_deleter {
    void operator()(dmbp_plan *p) const { dmbp_plan_free(p); }
};
struct explainer_deleter {
    void operator()(dmbp_explainer *e) const { dmbp_explainer_free(e); }
};
using model_ptr = std::unique_ptr<dmbp_model, model_deleter>;
using plan_ptr = std::unique_ptr<dmbp_plan, plan_deleter>;
using explainer_ptr = std::unique_ptr<dmbp_explainer, explainer_deleter>;

// Thrown by check(): the status and dmbp_last_error()'s text.
class error : public std::runtime_error {
  public:
    error(dmbp_status s, const std::string &what)
        : std::runtime_error(what), status(s) {}
    dmbp_status status;
};

inline void check(dmbp_status s)
{
    if (s != DMBP_OK)
        throw error(s, dmbp_last_error());
}

// An image whose pixels are released with the object.
struct image : dmbp_image {
    image() : dmbp_image() {}
    ~image() { dmbp_image_free(this); }
    image(const image &) = delete;
    image &operator=(const image &) = delete;
};

} // namespace dmbp

#endif
