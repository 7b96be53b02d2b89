/*
 * The JSON error filter: errors that libh2o raises itself (413 for a body over
 * limits.max_body_bytes, 400 for a malformed request, 417, 502...) are answered text/plain by
 * h2o_send_error_generic; this output filter rewrites them as FastAPI's `{"detail": reason}`
 * with Content-Type application/json, so that every error a client sees has the same shape.
 */
#include <h2o.h>
#include "app_internal.h"
#include "json.h"

typedef struct st_h2api_json_error_ostream_t {
    h2o_ostream_t super;
    h2o_iovec_t body;
    int sent;
} h2api_json_error_ostream_t;

static void json_error_do_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    h2api_json_error_ostream_t *self = (void *)_self;
    h2o_iovec_t out = self->sent ? h2o_iovec_init(NULL, 0) : self->body;
    self->sent = 1;
    h2o_ostream_send_next(&self->super, req, &out, out.len != 0 ? 1 : 0, state);
}

static void on_setup_json_error(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t i;
    /* h2o_send_error_generic answers text/plain; charset=utf-8: that is the signature of an
     * error that libh2o raised itself; our handlers always answer application/json */
    if (req->res.status >= 400 && (i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) >= 0 &&
        h2o_memis(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len,
                  H2O_STRLIT("text/plain; charset=utf-8"))) {
        const char *reason = req->res.reason != NULL && req->res.reason[0] != '\0' ? req->res.reason : "Error";
        h2api_json_error_ostream_t *os = (void *)h2o_add_ostream(req, sizeof(*os), slot);
        os->body = h2api_json_detail(&req->pool, reason);
        os->sent = 0;
        os->super.do_send = json_error_do_send;
        req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        req->res.content_length = os->body.len;
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void h2api__error_filter_register(h2o_pathconf_t *pathconf)
{
    h2o_filter_t *filter = h2o_create_filter(pathconf, sizeof(*filter));
    filter->on_setup_ostream = on_setup_json_error;
}
