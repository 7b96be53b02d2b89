/* The example app (the FastAPI "API Wrapper Example" on h2api): one file per resource, each with one register function. */
#ifndef h2api_routes_h
#define h2api_routes_h

#include "h2api.h"

/** Registers every route of the example app on `app`; an h2api_setup_cb (`data` unused). @return 0 or the first -errno. */
int h2api_routes_setup(h2api_app_t *app, void *data);
/** The same without `data`, for src/main.c until it calls h2api_main. */
int h2api_routes_register(h2api_app_t *app);

int routes_root_register(h2api_app_t *app);
int routes_posts_register(h2api_app_t *app);
int routes_users_register(h2api_app_t *app);
int routes_todos_register(h2api_app_t *app);
int routes_proxy_register(h2api_app_t *app);

#endif
