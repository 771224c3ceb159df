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
          "  explain MODEL IMAGE...       attribution maps: PREFIX.png (overlay)\n"
          "                               and PREFIX.npy per image\n"
          "      [--method M] [--target CLASS|auto] [-o PREFIX] [--json]\n"
          "      [--quiet] [--max-lanes N] [preprocessing options]\n"
          "      M: saliency [--abs]\n"
          "         gxi, guided\n"
          "         ig [--steps N] [--baseline zero|black|blur]\n"
          "            [--ig-rule midpoint|trapezoid|left|right]\n"
          "         smoothgrad [--samples N] [--sigma S] [--seed N]\n"
          "            [--of grad|gxi]\n"
          "         gradcam [--layer NAME]\n"
          "         dmbp (default) [DMBP options] [--masks FILE]\n"
          "      PREFIX: default IMAGE's name without .png, '-', the method;\n"
          "      with several images and -o, PREFIX-1, PREFIX-2, ...\n"
          "      dmbp also writes PREFIX-pos.png, PREFIX-neg.png,\n"
          "      PREFIX-mappings.png; its .npy is 5xCxHxW: W+ W- A+ A- N\n"
          "  masks MODEL IMAGE            DMBP's filter masks as JSON, and the\n"
          "                               filters with the largest m+ and m-\n"
          "      [--out FILE] [--top K] [--target CLASS|auto] [--quiet]\n"
          "      [DMBP options] [preprocessing options]\n"
          "\n"
          "DMBP options:\n"
          "  --iters N  --lr X  --preset dmbp|evidence  --init-logit X\n"
          "  --w-completeness X  --w-sign X  --w-nuisance X  --w-evidence X\n"
          "  --w-sparsity X  --samples N  --sigma S  --seed N\n"
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
    if (!strcmp(cmd, "explain"))
        return cmd_explain(argc - 1, argv + 1);
    if (!strcmp(cmd, "masks"))
        return cmd_masks(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s'", cmd);
}
