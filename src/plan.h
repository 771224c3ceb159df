/* What the rest of the library asks of plans beyond dmbp.h (no oneDNN:
 * the plan's insides are src/plan_dnnl.h). */
#ifndef DMBP_PLAN_H
#define DMBP_PLAN_H

#include "base.h"

/* ---- plans (plan.c) ---------------------------------------------------- */

/* dmbp_plan_create with some weights replaced: over has one entry per
 * model value, NULL to keep the model's data (read, not copied: it must
 * outlive plan creation only). */
dmbp_status dmbp__plan_create_with(const dmbp_model *m,
                                   const dmbp_plan_options *o,
                                   const float *const *over, bool keep_diffs,
                                   dmbp_plan **out);

#endif /* DMBP_PLAN_H */
