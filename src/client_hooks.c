/*
 * The outbound client as a worker resource (client_hooks.h).
 */
#include <errno.h>
#include "client_hooks.h"
#include "client/upstream.h"

int h2api_client_worker_startup(h2api_app_t *app, h2api_worker_t *worker, void *data, char *errbuf, size_t errlen)
{
    h2api_client_t *client =
        h2api_client_create(h2api_worker_ctx(worker), h2api_app_conf(app), h2api_worker_count(worker), errbuf, errlen);
    if (client == NULL)
        return -EINVAL;
    h2api_worker_set_resource(worker, H2API_CLIENT_RESOURCE, client);
    return 0;
}

int h2api_client_worker_shutdown(h2api_app_t *app, h2api_worker_t *worker, void *data, char *errbuf, size_t errlen)
{
    h2api_client_t *client = h2api_worker_resource(worker, H2API_CLIENT_RESOURCE);
    if (client != NULL) {
        h2api_worker_set_resource(worker, H2API_CLIENT_RESOURCE, NULL);
        h2api_client_destroy(client);
    }
    return 0;
}
