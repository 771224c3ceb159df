/* dmbp report DIR and explain -O DIR --html: DIR/index.html from the image
 * sets in DIR and its subdirectories (dmbp_report_write_dir). */
#include "cli.h"

int cli_report_dir(const char *dir, bool quiet)
{
    int n;
    cli_write_begin();
    dmbp_status st = dmbp_report_write_dir(dir, NULL, &n);
    int rc = cli_write_end(st ? cli_fail(st) : EXIT_OK);
    if (!rc && !quiet)
        fprintf(stderr, "dmbp: %s/index.html: %d pictures\n", dir, n);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    cli_args a;
    int rc = cli_args_parse(CMD_REPORT, argc, argv, &a);
    if (!rc && a.n_pos != 1)
        rc = cli_usage_error("report: %s", a.n_pos ? "one DIR at a time"
                                                   : "which DIR?");
    if (!rc)
        rc = cli_report_dir(a.pos[0], a.f.quiet);
    cli_args_free(&a);
    return rc < 0 ? EXIT_OK : rc;
}
