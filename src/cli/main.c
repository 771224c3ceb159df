/* dmbp: explain what an ONNX image classifier looked at. */
#include "runner.h"
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A failed write to standard output or error (a full disk, a closed
 * pipe, /dev/full) is an I/O error: flush both and check them before
 * exiting, so that a lost report is never status 0. */
static int finish(int rc)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int err = errno ? errno : EIO;
        fprintf(stderr, "dmbp: standard output: write error: %s\n",
                strerror(err));
        rc = EXIT_IO;
    }
    errno = 0;
    if (fflush(stderr) != 0 || ferror(stderr))
        rc = EXIT_IO; /* nowhere left to say so */
    return rc;
}

static int run(int argc, char **argv)
{
    cli_argv = argv;
    int prc = cli_load_plugins(&argc, argv);
    if (prc)
        return prc;
    if (argc < 2)
        return cli_usage_error("no command given");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        cli_usage(stdout, 0);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("dmbp %s\noneDNN ISA: %s\n", dmbp_version(),
               dmbp_backend_isa());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "explain") || !strcmp(cmd, "masks") ||
        !strcmp(cmd, "eval"))
        cli_signals_install();
    if (!strcmp(cmd, "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict"))
        return cmd_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "explain"))
        return cmd_explain(argc - 1, argv + 1);
    if (!strcmp(cmd, "masks"))
        return cmd_masks(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval"))
        return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "render"))
        return cmd_render(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    return cli_unknown_command(cmd);
}

/* OpenMP threads that wait for work sleep instead of spinning: on a
 * machine where another process holds a core, spinning threads take the
 * CPU from the one thread still working, and every barrier then waits for
 * a scheduler time slice (DMBP on the shipped model: 70-100 s with 2
 * threads against 5 s with one; passive: 5-6.5 s, see docs/performance.md).
 * The runtime reads the policy once, when the program is loaded, so it is
 * set here and the program started again; a policy the user chose
 * (OMP_WAIT_POLICY or GOMP_SPINCOUNT) is kept. */
static void passive_wait_policy(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* No /proc: go on with the runtime's default policy. */
    unsetenv("OMP_WAIT_POLICY");
}

int main(int argc, char **argv)
{
    passive_wait_policy(argv);
    return finish(run(argc, argv));
}
