/* dmbp_plugin_load: the example plugin (examples/swish_plugin.c, built by
 * make check) adds its op to the table; a missing file, a file that is not
 * a shared object, and a shared object without the registration function
 * (libdmbp itself) are refused with the status and the file named. */
#include "testlib.h"

#include <dmbp_plugin.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect(const char *path, dmbp_status want, const char *says)
{
    dmbp_status st = dmbp_plugin_load(path);
    CHECK(st == want && strstr(dmbp_last_error(), path) &&
              strstr(dmbp_last_error(), says),
          "%s: %s (%s), want %s saying '%s'", path, dmbp_status_str(st),
          dmbp_last_error(), dmbp_status_str(want), says);
}

int main(void)
{
    const char *top = getenv("top_builddir");
    char plugin[1024], lib[1024];
    snprintf(plugin, sizeof plugin, "%s/examples/.libs/swish_plugin.so",
             top ? top : ".");
    snprintf(lib, sizeof lib, "%s/src/.libs/libdmbp.so", top ? top : ".");
    if (access(plugin, R_OK) != 0) {
        printf("test_plugin: skipped: no %s\n", plugin);
        return TEST_SKIP;
    }
    CHECK(!strstr(dmbp_op_list(), "Swishx"), "Swishx before the plugin");
    dmbp_status st = dmbp_plugin_load(plugin);
    CHECK(!st && strstr(dmbp_op_list(), "Swishx"), "load: %s",
          st ? dmbp_last_error() : dmbp_op_list());
    /* Registered once: a second load is the op table's refusal, named. */
    expect(plugin, DMBP_ERR_ARG, "dmbp_plugin_register failed");
    expect("no-such-plugin.so", DMBP_ERR_IO, "cannot open plugin");
    expect(test_path("models/README.md"), DMBP_ERR_FORMAT,
           "not a loadable plugin");
    expect(lib, DMBP_ERR_UNSUPPORTED, "has no function dmbp_plugin_register");
    printf("test_plugin: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
