/* Status names, the thread-local error detail and the version. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>

/* One message per thread: long enough for a path, a node name and a
 * sentence; longer details are cut with "..." rather than overflowing. */
#define DMBP_ERROR_MAX 1024

static _Thread_local char last_error[DMBP_ERROR_MAX];

const char *dmbp_status_str(dmbp_status s)
{
    switch (s) {
    case DMBP_OK: return "DMBP_OK";
    case DMBP_ERR_ARG: return "DMBP_ERR_ARG";
    case DMBP_ERR_IO: return "DMBP_ERR_IO";
    case DMBP_ERR_FORMAT: return "DMBP_ERR_FORMAT";
    case DMBP_ERR_UNSUPPORTED: return "DMBP_ERR_UNSUPPORTED";
    case DMBP_ERR_SHAPE: return "DMBP_ERR_SHAPE";
    case DMBP_ERR_NONFINITE: return "DMBP_ERR_NONFINITE";
    case DMBP_ERR_NOMEM: return "DMBP_ERR_NOMEM";
    case DMBP_ERR_BACKEND: return "DMBP_ERR_BACKEND";
    case DMBP_ERR_INTERNAL: return "DMBP_ERR_INTERNAL";
    }
    return "DMBP_ERR_UNKNOWN";
}

const char *dmbp_last_error(void)
{
    return last_error;
}

dmbp_status dmbp_set_error(dmbp_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof last_error)
        memcpy(last_error + sizeof last_error - 4, "...", 4);
    return status;
}

/* Put "prefix: " in front of the current detail, keeping status. Used
 * where a lower layer does not know the file or node name. */
dmbp_status dmbp__prefix_error(dmbp_status status, const char *prefix)
{
    char tmp[DMBP_ERROR_MAX];
    snprintf(tmp, sizeof tmp, "%s", last_error);
    return dmbp_set_error(status, "%s: %s", prefix, tmp);
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define HEADER_VERSION                                                      \
    STR(DMBP_VERSION_MAJOR) "." STR(DMBP_VERSION_MINOR) "."                 \
        STR(DMBP_VERSION_PATCH)

const char *dmbp_version(void)
{
    /* configure reads PACKAGE_VERSION from dmbp.h; tests/test_api checks
     * that the two strings agree. */
    return HEADER_VERSION;
}

int dmbp_version_number(void)
{
    return DMBP_VERSION_NUMBER;
}
