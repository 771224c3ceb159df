/* A stand-in for libdmbp 0.1 (soname libdmbp.so.0): the functions
 * old_client.c calls, with 0.1's signatures, doing nothing. It exists so
 * that the old client can be linked the way it was in 0.1 (NEEDED
 * libdmbp.so.0, 0.1's symbols) without building that release. */
#include <dmbp.h>

#include <string.h>

#define STUB_TARGET 7

dmbp_status dmbp_model_load(const char *path, dmbp_model **out)
{
    (void)path;
    *out = NULL;
    return DMBP_OK;
}
void dmbp_model_free(dmbp_model *m) { (void)m; }
void dmbp_explain_options_init(dmbp_explain_options *o)
{
    memset(o, 0, sizeof *o);
}
dmbp_status dmbp_explain(const dmbp_model *m, const float *x, int n,
                         int channels, int height, int width,
                         const int *targets, const dmbp_explain_options *o,
                         dmbp_result **out)
{
    (void)m, (void)x, (void)n, (void)channels, (void)height, (void)width;
    (void)targets, (void)o;
    *out = NULL;
    return DMBP_OK;
}
int dmbp_result_target(const dmbp_result *r, int image)
{
    (void)r, (void)image;
    return STUB_TARGET;
}
void dmbp_result_free(dmbp_result *r) { (void)r; }
const char *dmbp_last_error(void) { return "stub"; }
const char *dmbp_status_str(dmbp_status s)
{
    (void)s;
    return "stub";
}
