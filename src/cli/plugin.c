/* dmbp --plugin FILE.so: operator plugins, loaded before any subcommand
 * parses its options (so that every subcommand takes the flag and the
 * model is loaded with the plugin's ops in the table). Self-contained:
 * main() calls cli_load_plugins first, which removes the flags from argv. */
#include "cli.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define PLUGIN_FLAG "--plugin"

/* Load one plugin and run its registration function. */
static int load_one(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "dmbp: %s: cannot open plugin: %s\n", path,
                strerror(errno));
        return EXIT_IO;
    }
    /* dlopen searches the library path for names without a slash: a file
     * in the current directory must be named as one. */
    char buf[4096];
    const char *name = path;
    if (!strchr(path, '/')) {
        if (snprintf(buf, sizeof buf, "./%s", path) >= (int)sizeof buf) {
            fprintf(stderr, "dmbp: %s: plugin path too long\n", path);
            return EXIT_IO;
        }
        name = buf;
    }
    /* Kept open until the process ends: the op table points into it. */
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        fprintf(stderr, "dmbp: %s: not a loadable plugin: %s\n", path,
                why ? why : "dlopen failed");
        return EXIT_FORMAT;
    }
    dlerror();
    void *sym = dlsym(h, DMBP_PLUGIN_REGISTER_SYMBOL);
    if (!sym) {
        fprintf(stderr, "dmbp: %s: plugin has no function %s\n", path,
                DMBP_PLUGIN_REGISTER_SYMBOL);
        dlclose(h);
        return EXIT_UNSUPPORTED;
    }
    dmbp_plugin_register_fn reg;
    /* POSIX's sanctioned way from an object pointer to a function one. */
    memcpy(&reg, &sym, sizeof reg);
    dmbp_status st = reg();
    if (st) {
        char why[1024];
        snprintf(why, sizeof why, "%s", dmbp_last_error());
        return cli_fail(dmbp_set_error(st, "%s: %s failed: %s", path,
                                       DMBP_PLUGIN_REGISTER_SYMBOL, why));
    }
    return EXIT_OK;
}

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
        int rc = load_one(file);
        if (rc)
            return rc;
    }
    argv[out] = NULL;
    *argc = out;
    return EXIT_OK;
}
