/*
 * Internals of the demo upstream shared by demo.c (routes) and data.c (the generated dataset).
 *
 * The dataset is rendered once into compact JSON byte strings: each object, each resource's
 * whole list, and one list per parent id (userId / postId / albumId), so that a GET is served
 * from prebuilt bytes with no JSON work per request. After h2api__demo_data_acquire returns it is
 * read-only and shared by every worker thread without locks.
 */
#ifndef h2api__demo_internal_h
#define h2api__demo_internal_h

#include <stddef.h>
#include <stdint.h>

/* the resources, in the order they are generated */
enum {
    H2API__DEMO_USERS = 0,
    H2API__DEMO_POSTS,
    H2API__DEMO_COMMENTS,
    H2API__DEMO_ALBUMS,
    H2API__DEMO_PHOTOS,
    H2API__DEMO_TODOS,
    H2API__DEMO_NUM_RESOURCES
};

/* the flags every rendering of the dataset uses (and the echoes of POST, PUT and PATCH) */
#define H2API__DEMO_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/** A prebuilt byte string (not NUL-terminated for lists sliced by parent; use len). */
typedef struct st_h2api__demo_text_t {
    const char *base;
    size_t len;
} h2api__demo_text_t;

/** One resource of the dataset. Ids run 1..count in list order. */
typedef struct st_h2api__demo_resource_t {
    const char *name;              /* "posts" */
    const char *parent_key;        /* the foreign key ("userId", "postId", "albumId"), NULL for users */
    size_t count;                  /* number of objects */
    size_t num_parents;            /* number of parent ids (1..num_parents), 0 for users */
    h2api__demo_text_t list;       /* "[...]": the whole list, as GET /{name} serves it */
    h2api__demo_text_t *objects;   /* [count]; objects[id - 1] is one object's JSON */
    h2api__demo_text_t *by_parent; /* [num_parents]; by_parent[pid - 1] lists the children of pid, "[]" when none */
    uint32_t *parent_ids;          /* [count]; parent_ids[id - 1] is the object's foreign key */
} h2api__demo_resource_t;

/**
 * Builds the dataset on the first call (deterministic: a fixed-seed splitmix64 generator, the
 * same bytes every run) and counts the callers. Main thread only, before workers start.
 * Out of memory aborts.
 */
void h2api__demo_data_acquire(void);

/** Drops one reference taken by h2api__demo_data_acquire; the last one frees the dataset. */
void h2api__demo_data_release(void);

/** Returns resource `index` (H2API__DEMO_*), or NULL while the dataset is not built. */
const h2api__demo_resource_t *h2api__demo_data_get(size_t index);

/** Returns the resource named `name` ("users", ...), or NULL if unknown or not built. */
const h2api__demo_resource_t *h2api__demo_data_find(const char *name);

#endif
