/*
 * The process log (log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

static h2api_log_level_t log_level = H2API_LOG_INFO;

void h2api_log_set_level(h2api_log_level_t level)
{
    log_level = level;
}

void h2api_log(h2api_log_level_t level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > log_level)
        return;
    char line[1024];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += snprintf(line + n, sizeof(line) - n, "[%s] ", names[level]);
    va_list args;
    va_start(args, fmt);
    n += vsnprintf(line + n, sizeof(line) - n, fmt, args);
    va_end(args);
    if (n >= (int)sizeof(line))
        n = sizeof(line) - 1;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* stderr gone: nothing to do */
    }
}
