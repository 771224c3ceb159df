// dmbp.hpp - thin C++ helpers over the C headers: one owning handle<T>
// template for every libdmbp object (the pattern of oneDNN's dnnl.hpp),
// an image that frees only the pixels the library allocated, a status
// check that throws, and loading helpers that return handles. Nothing
// else: the C API is the API. C++11; [[nodiscard]] from C++17.
#ifndef DMBP_HPP
#define DMBP_HPP

#include <dmbp.h>
#include <dmbp_eval.h>
#include <dmbp_render.h>
#include <dmbp_setrun.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#if __cplusplus >= 201703L
#define DMBP_CPP_NODISCARD [[nodiscard]]
#else
#define DMBP_CPP_NODISCARD
#endif

namespace dmbp {

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

// How each handle type is freed: one specialisation per C object.
template <typename T> struct handle_traits;
template <> struct handle_traits<dmbp_model> {
    static void destroy(dmbp_model *p) noexcept { dmbp_model_free(p); }
};
template <> struct handle_traits<dmbp_plan> {
    static void destroy(dmbp_plan *p) noexcept { dmbp_plan_free(p); }
};
template <> struct handle_traits<dmbp_result> {
    static void destroy(dmbp_result *p) noexcept { dmbp_result_free(p); }
};
template <> struct handle_traits<dmbp_session> {
    static void destroy(dmbp_session *p) noexcept { dmbp_session_free(p); }
};
template <> struct handle_traits<dmbp_image_set> {
    static void destroy(dmbp_image_set *p) noexcept { dmbp_image_set_free(p); }
};
template <> struct handle_traits<dmbp_labels> {
    static void destroy(dmbp_labels *p) noexcept { dmbp_labels_free(p); }
};
template <> struct handle_traits<dmbp_eval_run> {
    static void destroy(dmbp_eval_run *p) noexcept { dmbp_eval_run_free(p); }
};
template <> struct handle_traits<dmbp_classifier> {
    static void destroy(dmbp_classifier *p) noexcept
    {
        dmbp_classifier_free(p);
    }
};
template <> struct handle_traits<dmbp_manifest_line> {
    static void destroy(dmbp_manifest_line *p) noexcept
    {
        dmbp_manifest_line_free(p);
    }
};

// A set's ledger closes with its handle; a caller that wants the summary
// or the status of closing calls dmbp_setrun_close(h.release(), &sum).
template <> struct handle_traits<dmbp_setrun> {
    static void destroy(dmbp_setrun *p) noexcept
    {
        dmbp_status st = dmbp_setrun_close(p, nullptr);
        (void)st;
    }
};

template <> struct handle_traits<dmbp_setrun_worker> {
    static void destroy(dmbp_setrun_worker *p) noexcept
    {
        dmbp_setrun_worker_free(p);
    }
};

// An owning, movable, non-copyable handle of a libdmbp object: freed with
// its C *_free function when the handle goes. It converts to T * so that
// it can be passed to the C functions as it is.
template <typename T> class handle {
    struct deleter {
        void operator()(T *p) const noexcept { handle_traits<T>::destroy(p); }
    };
    std::unique_ptr<T, deleter> p_;

  public:
    handle() noexcept = default;
    explicit handle(T *p) noexcept : p_(p) {}
    T *get() const noexcept { return p_.get(); }
    operator T *() const noexcept { return p_.get(); }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    void reset(T *p = nullptr) noexcept { p_.reset(p); }
    DMBP_CPP_NODISCARD T *release() noexcept { return p_.release(); }
};

using model = handle<dmbp_model>;
using plan = handle<dmbp_plan>;
using result = handle<dmbp_result>;
using session = handle<dmbp_session>;
using image_set = handle<dmbp_image_set>;
using labels = handle<dmbp_labels>;
using eval_run = handle<dmbp_eval_run>;
using classifier = handle<dmbp_classifier>;
using manifest_line = handle<dmbp_manifest_line>;
using setrun = handle<dmbp_setrun>;
using setrun_worker = handle<dmbp_setrun_worker>;
// The names of earlier releases.
using model_ptr = model;
using plan_ptr = plan;

// A planar float image (see dmbp_image). Pixels the library allocated
// (load_image, preprocess, or a C call given out()) are freed with the
// object; an image made with view() only points at the caller's pixels and
// never frees them.
class image {
    dmbp_image img_;
    bool owned_;

  public:
    image() noexcept : img_(), owned_(false) {}
    ~image() { reset(); }
    image(const image &) = delete;
    image &operator=(const image &) = delete;
    image(image &&o) noexcept : img_(o.img_), owned_(o.owned_)
    {
        o.img_ = dmbp_image();
        o.owned_ = false;
    }
    image &operator=(image &&o) noexcept
    {
        if (this != &o) {
            reset();
            img_ = o.img_;
            owned_ = o.owned_;
            o.img_ = dmbp_image();
            o.owned_ = false;
        }
        return *this;
    }
    // The caller's pixels (channels x height x width floats), not owned.
    DMBP_CPP_NODISCARD static image view(int channels, int height,
                                         int width, float *data) noexcept
    {
        image i;
        i.img_.channels = channels;
        i.img_.height = height;
        i.img_.width = width;
        i.img_.data = data;
        return i;
    }
    // Empty the image and hand its struct to a C function that fills it
    // (dmbp_image_load, dmbp_image_preprocess): the pixels are then owned.
    dmbp_image *out() noexcept
    {
        reset();
        owned_ = true;
        return &img_;
    }
    void reset() noexcept
    {
        if (owned_)
            dmbp_image_free(&img_);
        img_ = dmbp_image();
        owned_ = false;
    }
    const dmbp_image *get() const noexcept { return &img_; }
    operator const dmbp_image *() const noexcept { return &img_; }
    bool owns() const noexcept { return owned_; }
    int channels() const noexcept { return img_.channels; }
    int height() const noexcept { return img_.height; }
    int width() const noexcept { return img_.width; }
    float *data() const noexcept { return img_.data; }
};

// ---- loading helpers: the C calls, with handles and exceptions ----------

DMBP_CPP_NODISCARD inline model load_model(const char *path)
{
    dmbp_model *m = nullptr;
    check(dmbp_model_load(path, &m));
    return model(m);
}

DMBP_CPP_NODISCARD inline image
load_image(const char *path, const dmbp_image_load_options *o = nullptr)
{
    image img;
    check(dmbp_image_load(path, o, img.out()));
    return img;
}

DMBP_CPP_NODISCARD inline image preprocess(const image &in,
                                           const dmbp_preprocess_options &o)
{
    image out;
    check(dmbp_image_preprocess(in, &o, out.out()));
    return out;
}

// The model's preprocessing (dmbp_model_preprocess_defaults).
DMBP_CPP_NODISCARD inline dmbp_preprocess_options
preprocess_defaults(const dmbp_model *m)
{
    dmbp_preprocess_options o;
    check(dmbp_model_preprocess_defaults(m, &o));
    return o;
}

DMBP_CPP_NODISCARD inline plan make_plan(const dmbp_model *m,
                                         const dmbp_plan_options *o)
{
    dmbp_plan *p = nullptr;
    check(dmbp_plan_create(m, o, &p));
    return plan(p);
}

DMBP_CPP_NODISCARD inline session make_session(const dmbp_model *m)
{
    dmbp_session *s = nullptr;
    check(dmbp_session_create(m, &s));
    return session(s);
}

// dmbp_explain of one image.
DMBP_CPP_NODISCARD inline result explain(dmbp_session *s, const image &x,
                                         const int *targets,
                                         const dmbp_explain_options *o)
{
    dmbp_result *r = nullptr;
    check(dmbp_explain(s, x.data(), 1, x.channels(), x.height(), x.width(),
                       targets, o, &r));
    return result(r);
}

// The named array or scalar of image i of a result (dmbp_result_find).
DMBP_CPP_NODISCARD inline dmbp_tensor_view find(const dmbp_result *r, int i,
                                                const char *name)
{
    dmbp_tensor_view v;
    check(dmbp_result_find(r, i, name, &v));
    return v;
}

} // namespace dmbp

#endif
