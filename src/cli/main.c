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
          "  explain MODEL IMAGE...       attribution maps: per image PREFIX.png\n"
          "                               (the map over the image) and\n"
          "                               PREFIX.npy (the array, CxHxW)\n"
          "      [--method M] [--target CLASS|auto] [-o PREFIX] [--json]\n"
          "      [--quiet] [--max-lanes N (32)] [method options]\n"
          "      [preprocessing options]\n"
          "      PREFIX: IMAGE's name without .png, '-', the method, in the\n"
          "      current directory; -o PREFIX for one image, PREFIX-1,\n"
          "      PREFIX-2, ... for several\n"
          "  masks MODEL IMAGE            DMBP's filter masks as JSON, and the\n"
          "                               K filters per layer with the largest\n"
          "                               m+ and m-\n"
          "      [--out FILE (IMAGE-masks.json)] [--top K (5)]\n"
          "      [--target CLASS|auto] [--quiet] [--max-lanes N]\n"
          "      [dmbp options] [preprocessing options]\n"
          "  eval MODEL --images SPEC     faithfulness of the methods: deletion\n"
          "                               and insertion AUC, negative evidence,\n"
          "                               AOPC, model randomisation; a table\n"
          "      SPEC: a file listing PNG paths, a directory of PNGs, or\n"
          "      idx:FILE (IDX3, gzipped or not)\n"
          "      [--methods M,M,... (all)] [--n N (all)] [--offset K (0)]\n"
          "      [--steps N (20) | --step-pixels N] [--substrate\n"
          "      zero|blur|mean (zero)] [--insertion-start blur|zero|mean\n"
          "      (blur)] [--regions N (20)] [--region-size N (9)]\n"
          "      [--randomization-images K (8)] [--seed N (0)]\n"
          "      [--against M] [--csv FILE] [--json FILE] [--plot FILE.svg]\n"
          "      [--markdown FILE] [--batch N (64)] [--abs] [--quiet]\n"
          "      [--target CLASS|auto] [--max-lanes N] [dmbp options]\n"
          "      [preprocessing options]\n"
          "      Methods run with their defaults, dmbp with the dmbp options;\n"
          "      --steps here are the curves' steps, not IG's\n"
          "\n"
          "Methods (--method, default dmbp) and their options (defaults):\n"
          "  saliency    the gradient; --abs: max over channels of |gradient|\n"
          "  gxi         gradient x input\n"
          "  ig          --steps N (32) --baseline zero|black|blur (zero)\n"
          "              --ig-rule midpoint|trapezoid|left|right (midpoint)\n"
          "  smoothgrad  --samples N (16) --sigma S (0.15) --seed N (0)\n"
          "              --of grad|gxi (gxi)\n"
          "  guided      guided backpropagation\n"
          "  gradcam     --layer NAME (the last Conv)\n"
          "  dmbp        --iters N (200) --lr X (0.05) --init-logit X (2)\n"
          "              --preset dmbp|evidence (dmbp), then the weights\n"
          "              --w-completeness X (10) --w-sign X (3)\n"
          "              --w-nuisance X (1) --w-evidence X (0)\n"
          "              --w-sparsity X (0.01); smoothed: --samples N (1)\n"
          "              --sigma S (0.1) --seed N (0); --tol X (0: off):\n"
          "              stop when the loss changed < X (relative) over\n"
          "              10 iterations; explain --masks FILE:\n"
          "              also the masks JSON. Writes PREFIX.png,\n"
          "              PREFIX-pos.png, PREFIX-neg.png, PREFIX-mappings.png\n"
          "              and PREFIX.npy (5xCxHxW: W+, W-, A+, A-, nuisance)\n"
          "\n"
          "Preprocessing options (predict, explain, masks, eval):\n"
          "  --resize N | --no-resize  --crop N  --mean M  --std S\n"
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
        printf("dmbp %s\noneDNN ISA: %s\n", dmbp_version(),
               dmbp_backend_isa());
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
    if (!strcmp(cmd, "eval"))
        return cmd_eval(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s'", cmd);
}
