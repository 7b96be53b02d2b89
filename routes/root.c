/* GET / — the example service's welcome document. */
#include "routes.h"

static int root_get(h2api_request_t *r)
{
    static const char body[] = "{\"message\":\"Welcome to the API Wrapper Example\",\"versions\":{\"v1\":\"/v1\"}}";
    h2api_send_json(r, 200, body, sizeof(body) - 1);
    return 0;
}

static const h2api_route_t root_routes[] = {
    {H2API_METHOD_GET, "/", root_get, "Welcome document with the API versions", NULL},
};

int routes_root_register(h2api_app_t *app)
{
    return h2api_app_add_routes(app, root_routes, sizeof(root_routes) / sizeof(root_routes[0]));
}
