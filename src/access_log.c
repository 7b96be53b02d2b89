/*
 * The access log: one line per request on stdout, written with one write(2) so that lines from
 * several workers do not interleave:
 *     METHOD PATH PROTOCOL STATUS BYTES_SENT DURATION_MS REQUEST_ID
 * (method cut at 16 bytes, path at 512; "-" for what the request never had).
 */
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>
#include <h2o.h>
#include "app_internal.h"

static void log_access(h2o_logger_t *self, h2o_req_t *req)
{
    char line[1024];
    struct timeval now;
    gettimeofday(&now, NULL);
    double ms = (now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000.0 +
                (now.tv_usec - req->timestamps.request_begin_at.tv_usec) / 1000.0;
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    h2o_iovec_t rid = i >= 0 ? req->res.headers.entries[i].value : h2o_iovec_init(H2O_STRLIT("-"));
    h2o_iovec_t method = req->input.method.base != NULL ? req->input.method : h2o_iovec_init(H2O_STRLIT("-"));
    h2o_iovec_t path = req->input.path.base != NULL ? req->input.path : h2o_iovec_init(H2O_STRLIT("-"));
    const char *proto = req->version >= 0x200 ? "HTTP/2" : req->version == 0x101 ? "HTTP/1.1" : "HTTP/1.0";
    int n = snprintf(line, sizeof(line), "%.*s %.*s %s %d %zu %.3fms %.*s\n", (int)(method.len > 16 ? 16 : method.len), method.base,
                     (int)(path.len > 512 ? 512 : path.len), path.base, proto, req->res.status, req->bytes_sent, ms, (int)rid.len,
                     rid.base);
    if (n > 0 && write(STDOUT_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0) {
        /* stdout gone: nothing useful to do */
    }
}

void h2api__access_log_register(h2o_pathconf_t *pathconf)
{
    h2o_logger_t *logger = h2o_create_logger(pathconf, sizeof(*logger));
    logger->log_access = log_access;
}
