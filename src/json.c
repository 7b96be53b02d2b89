#include <stdio.h>
#include <string.h>
#include "json.h"

h2o_iovec_t h2api_json_quote(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    char *buf = h2o_mem_alloc_pool(pool, len * 6 + 3), *p = buf;
    *p++ = '"';
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
        case '\\':
            *p++ = '\\';
            *p++ = (char)c;
            break;
        case '\n':
            *p++ = '\\', *p++ = 'n';
            break;
        case '\r':
            *p++ = '\\', *p++ = 'r';
            break;
        case '\t':
            *p++ = '\\', *p++ = 't';
            break;
        default:
            if (c < 0x20) {
                p += sprintf(p, "\\u%04x", c);
            } else {
                *p++ = (char)c;
            }
        }
    }
    *p++ = '"';
    return h2o_iovec_init(buf, p - buf);
}

h2o_iovec_t h2api_json_detail(h2o_mem_pool_t *pool, const char *detail)
{
    h2o_iovec_t q = h2api_json_quote(pool, detail, strlen(detail));
    return h2o_concat(pool, h2o_iovec_init(H2O_STRLIT("{\"detail\":")), q, h2o_iovec_init(H2O_STRLIT("}")));
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int h2api_json_is_empty_array(h2o_iovec_t body)
{
    size_t b = 0, e = body.len;
    while (b < e && is_ws(body.base[b]))
        ++b;
    while (e > b && is_ws(body.base[e - 1]))
        --e;
    if (e - b < 2 || body.base[b] != '[' || body.base[e - 1] != ']')
        return 0;
    for (size_t i = b + 1; i != e - 1; ++i)
        if (!is_ws(body.base[i]))
            return 0;
    return 1;
}
