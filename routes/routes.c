#include "routes.h"

int h2api_routes_setup(h2api_app_t *app, void *data)
{
    int (*const registers[])(h2api_app_t *) = {
        routes_root_register, routes_posts_register, routes_users_register, routes_todos_register, routes_proxy_register,
    };
    for (size_t i = 0; i != H2API_LEN(registers); ++i) {
        int ret;
        if ((ret = registers[i](app)) != 0)
            return ret;
    }
    return 0;
}

int h2api_routes_register(h2api_app_t *app)
{
    return h2api_routes_setup(app, NULL);
}
