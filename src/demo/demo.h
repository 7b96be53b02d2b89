/*
 * The embedded demo upstream: a jsonplaceholder-compatible API (users, posts, comments,
 * albums, photos, todos) with generated data, served by the same workers on its own listener
 * (conf->demo_upstream.listen) so that the shipped config runs with no network. The example
 * routes reach it through the real outbound client over loopback.
 */
#ifndef h2api__demo_h
#define h2api__demo_h

#include "app.h"

/* jsonplaceholder's counts */
#define H2API_DEMO_USERS 10
#define H2API_DEMO_POSTS 100
#define H2API_DEMO_COMMENTS 500
#define H2API_DEMO_ALBUMS 100
#define H2API_DEMO_PHOTOS 5000
#define H2API_DEMO_TODOS 200

/**
 * Builds the demo dataset (deterministic: seeded generator, same bytes every run) and an app
 * serving it. Call on the main thread before workers start; the data is read-only afterwards
 * and shared by all workers.
 * Routes (jsonplaceholder's): GET /{resource}, GET /{resource}/{id:int} ({} with 404 when
 * missing), filters ?userId= / ?postId= / ?albumId= / ?id=, nested GET /posts/{id}/comments,
 * /users/{id}/posts|todos|albums, /albums/{id}/photos; POST /{resource} answers 201 with the
 * posted JSON object plus "id": count + 1; PUT/PATCH /{resource}/{id} answer 200 with the
 * merged object; DELETE /{resource}/{id} answers 200 {}.
 * @return the app (destroy with h2api_demo_destroy).
 */
h2api_app_t *h2api_demo_create(const h2api_conf_t *conf);

/** Frees the app and the dataset. */
void h2api_demo_destroy(h2api_app_t *demo);

/**
 * The generated dataset as JSON text of one resource ("users", "posts", ...): the whole list,
 * exactly as GET /{resource} serves it. For tests. NULL for an unknown resource.
 */
const char *h2api_demo_resource_json(const char *resource, size_t *len);

#endif
