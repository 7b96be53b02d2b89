/* GET / — the example service's welcome document. */
#include "routes.h"

static int root_get(h2api_request_t *r)
{
    static const char body[] = "{\"message\":\"Welcome to the API Wrapper Example\",\"versions\":{\"v1\":\"/v1\"}}";
    h2api_send_json(r, 200, body, sizeof(body) - 1);
    return 0;
}

static const h2api_route_t root_routes[] = {
    {H2API_METHOD_GET, "/", root_get, "Welcome document with the API versions", .tags = {"root"}},
};

int routes_root_register(h2api_app_t *app)
{
    return H2API_ADD_ROUTES(app, root_routes);
}
