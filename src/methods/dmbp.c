/* DMBP: see dmbp-method.md sections 3-4. */
#include "methods/methods.h"

dmbp_status dmbp__method_dmbp(const dmbp_explain_ctx *c, dmbp_result *r)
{
    (void)c;
    (void)r;
    return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "the dmbp method is not "
                          "built yet");
}
