/*
 * The HTTP/2 transport (nghttp2 on an h2o socket). Being written: until it lands, `http2: on`
 * and `http2: auto` on https upstreams are refused at start with a clear message.
 */
#include <errno.h>
#include <stdio.h>
#include "client/internal.h"

const h2api__transport_t h2api__transport_h2 = {.name = "h2"};

int h2api__h2_init(h2api_upstream_t *up, char *errbuf, size_t errlen)
{
    snprintf(errbuf, errlen, "upstream %s: http2 is not available in this build; set http2: off", up->conf->name);
    return -ENOTSUP;
}

void h2api__h2_dispose(h2api_upstream_t *up)
{
}
