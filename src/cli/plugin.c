/* dmbp --plugin FILE.so: operator plugins, loaded before any subcommand
 * parses its options (so that every subcommand takes the flag and the
 * model is loaded with the plugin's ops in the table). Self-contained:
 * main() calls cli_load_plugins first, which removes the flags from argv
 * and loads each (dmbp_plugin_load). */
#include "cli.h"

#include <string.h>

#define PLUGIN_FLAG "--plugin"

int cli_load_plugins(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char *file = NULL;
        if (!strcmp(a, PLUGIN_FLAG)) {
            if (i + 1 >= *argc)
                return cli_usage_error("%s needs a value", PLUGIN_FLAG);
            file = argv[++i];
        } else if (!strncmp(a, PLUGIN_FLAG "=", sizeof PLUGIN_FLAG)) {
            file = a + sizeof PLUGIN_FLAG;
        }
        if (!file) {
            argv[out++] = argv[i];
            continue;
        }
        if (!file[0])
            return cli_usage_error("%s needs a file name", PLUGIN_FLAG);
        dmbp_status st = dmbp_plugin_load(file);
        if (st)
            return cli_fail(st);
    }
    argv[out] = NULL;
    *argc = out;
    return EXIT_OK;
}
