/* dmbp info MODEL: what the model takes and what it is made of
 * (dmbp_model_describe). */
#include "cli.h"

int cmd_info(int argc, char **argv)
{
    cli_args a;
    int rc = cli_args_parse(CMD_INFO, argc, argv, &a);
    if (!rc && a.n_pos < 1)
        rc = cli_usage_error("info: which model?");
    if (!rc && a.n_pos > 1)
        rc = cli_usage_error("info: one model at a time");
    const char *path = rc ? NULL : a.pos[0];
    bool json = a.f.json, layers = a.f.layers;
    cli_args_free(&a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    dmbp_model *m;
    dmbp_status st = dmbp_model_load(path, &m);
    if (!st)
        st = dmbp_model_describe(m, path, layers, json, stdout);
    dmbp_model_free(m);
    return st ? cli_fail(st) : EXIT_OK;
}
