/* dmbp: explain what an ONNX image classifier looked at. */
#include "cli.h"

#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: dmbp COMMAND [ARGS]\n"
          "\n"
          "Commands:\n"
          "  info MODEL [--json]          inputs, outputs, ops, parameters,\n"
          "                               preprocessing defaults\n"
          "  predict MODEL IMAGE...       classify PNG images\n"
          "      [--top K] [--labels FILE] [--json] [--batch N]\n"
          "      [--resize N | --no-resize] [--crop N] [--mean M] [--std S]\n"
          "\n"
          "Options:\n"
          "  -h, --help      this text\n"
          "  -V, --version   the version\n"
          "\n"
          "Exit status: 0 success, 1 internal error, 2 usage, 3 I/O,\n"
          "4 bad file format, 5 unsupported model, 6 size mismatch,\n"
          "7 NaN or infinity. See dmbp(1).\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("no command given");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("dmbp %s\n", dmbp_version());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict"))
        return cmd_predict(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s'", cmd);
}
