/* dmbp_plugin_load (dmbp_plugin.h): an operator plugin, a shared object
 * whose registration function adds its ops to the table. */
#include "base.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>

#define PLUGIN_PATH_MAX 4096
#define PLUGIN_WHY_MAX 1024

dmbp_status dmbp_plugin_load(const char *path)
{
    struct stat sb;
    if (!path)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plugin_load: NULL");
    if (stat(path, &sb) != 0)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open plugin: %s",
                              path, strerror(errno));
    /* dlopen searches the library path for names without a slash: a file
     * in the current directory must be named as one. */
    char buf[PLUGIN_PATH_MAX];
    const char *name = path;
    if (!strchr(path, '/')) {
        if (snprintf(buf, sizeof buf, "./%s", path) >= (int)sizeof buf)
            return dmbp_set_error(DMBP_ERR_IO, "%s: plugin path too long",
                                  path);
        name = buf;
    }
    /* Kept open until the process ends: the op table points into it. */
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: not a loadable plugin: "
                              "%s", path, why ? why : "dlopen failed");
    }
    dlerror();
    void *sym = dlsym(h, DMBP_PLUGIN_REGISTER_SYMBOL);
    if (!sym) {
        dlclose(h);
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: plugin has no "
                              "function %s", path,
                              DMBP_PLUGIN_REGISTER_SYMBOL);
    }
    dmbp_plugin_register_fn reg;
    /* POSIX's sanctioned way from an object pointer to a function one. */
    memcpy(&reg, &sym, sizeof reg);
    dmbp_status st = reg();
    if (st) {
        char why[PLUGIN_WHY_MAX];
        snprintf(why, sizeof why, "%s", dmbp_last_error());
        return dmbp_set_error(st, "%s: %s failed: %s", path,
                              DMBP_PLUGIN_REGISTER_SYMBOL, why);
    }
    return DMBP_OK;
}

