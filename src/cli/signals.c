/* SIGINT and SIGTERM during explain, masks and eval: outputs are written
 * through temporary files renamed into place, so between writes nothing
 * partial exists and the program may stop at once; during a write the
 * signal waits until the file is complete (a few milliseconds), so that
 * no temporary file is left and every finished output stays intact. The
 * exit status is 128 + the signal (130, 143). */
#include "cli.h"

#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t writing;   /* nesting of cli_write_begin */
static volatile sig_atomic_t pending;   /* a signal that arrived meanwhile */

static void on_signal(int sig)
{
    static const char msg[] = "dmbp: interrupted\n";
    if (writing) {
        pending = sig;
        return;
    }
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
    _exit(128 + sig);
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_write_begin(void)
{
    writing++;
}

int cli_write_end(int rc)
{
    if (writing > 0)
        writing--;
    if (!writing && pending) {
        fputs("dmbp: interrupted\n", stderr);
        exit(128 + pending);
    }
    return rc;
}
