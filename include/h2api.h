/*
 * h2api: the public API for route authors and for the programs built on the library.
 *
 * A route file includes this header only and reads in the order things happen: declare the
 * route (a table row: method, typed pattern, handler, docs), read its inputs, start a stage of
 * upstream calls, continue with their results, answer JSON.
 *
 *     static const h2api_path_param_t post_id = H2API_PATH_INT("post_id");
 *     static const h2api_leg_t post_leg = {.on_status = {{404, 404, "Post not found"}}};
 *
 *     static int posts_get(h2api_request_t *r)
 *     {
 *         return h2api_relay(r, &post_leg, 200, "GET", H2API_NO_BODY, "/posts/%" PRId64, h2api_path_int(r, &post_id));
 *     }
 *     static const h2api_route_t posts_routes[] = {
 *         {H2API_METHOD_GET, "/v1/posts/{post_id:int}", posts_get, "Get one post by id", .params = {&post_id}},
 *     };
 *     int routes_posts_register(h2api_app_t *app) { return H2API_ADD_ROUTES(app, posts_routes); }
 *
 * Everything here runs on the request's worker loop; nothing locks. Request memory (strings
 * returned, JSON builders, stages) lives in the request's memory pool and is freed with it:
 * never free it by hand. No libh2o, libuv or jansson type appears here; streaming handlers that
 * need h2o use <h2api_h2o.h> as well.
 */
#ifndef h2api_h
#define h2api_h

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_h2api_app_t h2api_app_t;
typedef struct st_h2api_worker_t h2api_worker_t;
typedef struct st_h2api_request_t h2api_request_t;
typedef struct st_h2api_stage_t h2api_stage_t;
typedef struct st_h2api_jsonb_t h2api_jsonb_t;

/** A string view: `len` bytes at `base`, not necessarily NUL-terminated. Layout-compatible with h2o_iovec_t. */
typedef struct st_h2api_str_t {
    const char *base;
    size_t len;
} h2api_str_t;

#define H2API_STR(lit) ((h2api_str_t){(lit), sizeof(lit) - 1})
#define H2API_NO_BODY ((h2api_str_t){NULL, 0})
#define H2API_LEN(array) (sizeof(array) / sizeof((array)[0]))

/* ---- the program ---- */

/** Registers the app's routes and lifespan hooks on `app`. @return 0 or a negative errno (the server does not start). */
typedef int (*h2api_setup_cb)(h2api_app_t *app, void *data); /* registers routes and lifespan hooks; 0 or -errno */

/**
 * The whole life of an h2api process, for an app's main(): `return h2api_main(argc, argv, setup, NULL);`
 *
 * Parses the command line of the h2api binary: `-c FILE` / `--conf FILE` (the YAML config;
 * default config/h2api.yaml in the working directory if it is readable, else the embedded copy of
 * the shipped config), `-t` / `--test` (validate the config and exit), `--version`, `--help`.
 * Then loads the config and its environment overrides (H2API_LISTEN, H2API_WORKERS,
 * H2API_LOG_LEVEL, H2API_UPSTREAM_URL), sets the log level, ignores SIGPIPE, raises the
 * open-files limit to its hard limit, creates the app, registers the outbound client pool as a
 * per-worker lifespan resource (each worker gets one client over the configured upstreams), and
 * calls `setup(app, data)` once, on the calling thread, before any listener is bound: it
 * registers the app's routes and its own lifespan hooks (which therefore start after the client
 * and stop before it). Then it binds the listeners (and the embedded demo upstream when the
 * config enables it), runs the startup hooks and serves until SIGTERM or SIGINT, drains (new
 * connections refused, /readyz 503, requests in flight finish up to shutdown_timeout_ms), runs
 * the shutdown hooks and returns. A second signal during the drain exits the process at once
 * with status 1 (h2api_main does not return then).
 *
 * @param argc, argv  main()'s arguments, unchanged (argv[0] names the program in --help).
 * @param setup  the app's composition: 0 on success, or a negative errno (the route table is
 *               invalid, a hook cannot be registered) to stop before serving. NULL: no routes.
 * @param data   passed to `setup` as is (borrowed).
 * @return the process exit status, for main() to return: 0 after `--version`, `--help`, a
 *         successful `-t` or a clean drain; 2 for a bad command line or an invalid config
 *         (`FILE:LINE: message` on stderr); 1 if `setup` failed, a listener could not be bound,
 *         a TLS certificate could not be loaded or a startup hook failed (reason on stderr).
 * Call it once per process, from the main thread: it owns the process's signals and getopt state.
 */
int h2api_main(int argc, char **argv, h2api_setup_cb setup, void *data);

/**
 * A lifespan hook. `worker` is NULL for process-wide hooks. Startup hooks return 0, or a
 * negative errno to stop the server (with `errbuf` holding the reason); shutdown hook
 * results are ignored.
 */
typedef int (*h2api_lifespan_cb)(h2api_app_t *app, h2api_worker_t *worker, void *data, char *errbuf, size_t errlen);

/* the `per_worker` argument of h2api_app_on_lifespan */
enum { H2API_LIFESPAN_PROCESS = 0, H2API_LIFESPAN_WORKER = 1 };

/**
 * Registers lifespan hooks (FastAPI's lifespan). H2API_LIFESPAN_PROCESS: once per process, on
 * the main thread before workers start (startup) / after they stop (shutdown).
 * H2API_LIFESPAN_WORKER: once per worker, on the worker's thread, before it accepts (startup) /
 * after it drained (shutdown). Startup hooks run in registration order, shutdown hooks in
 * reverse. Either hook may be NULL. More than 32 hooks abort (a bug in the app).
 */
void h2api_app_on_lifespan(h2api_app_t *app, int per_worker, h2api_lifespan_cb startup, h2api_lifespan_cb shutdown, void *data);

/* ---- declaring routes ---- */

/* Methods as a bit set, so one route can serve several. A GET route also serves HEAD. */
enum {
    H2API_METHOD_GET = 1 << 0,
    H2API_METHOD_HEAD = 1 << 1,
    H2API_METHOD_POST = 1 << 2,
    H2API_METHOD_PUT = 1 << 3,
    H2API_METHOD_PATCH = 1 << 4,
    H2API_METHOD_DELETE = 1 << 5,
    H2API_METHOD_OPTIONS = 1 << 6,
    H2API_METHOD_ALL = (1 << 7) - 1
};

/**
 * A route handler. Runs on the worker's loop. It must answer exactly once, now or later (from a
 * stage's continuation). Returning non-zero answers 500 {"detail":"Internal Server Error"} if
 * nothing was sent.
 */
typedef int (*h2api_handler_cb)(h2api_request_t *r);

/**
 * A path parameter the handler reads: its name in the pattern and its converter ("int", "str"
 * or "path", as in "{post_id:int}"). Declare one `static const` handle per parameter and list it
 * in the route's `.params`: registration checks it against the pattern.
 */
typedef struct st_h2api_path_param_t {
    const char *name;
    const char *converter;
} h2api_path_param_t;

#define H2API_PATH_INT(name)                                                                                                       \
    {                                                                                                                              \
        (name), "int"                                                                                                              \
    }
#define H2API_PATH_STR(name)                                                                                                       \
    {                                                                                                                              \
        (name), "str"                                                                                                              \
    }
#define H2API_PATH_PATH(name)                                                                                                      \
    {                                                                                                                              \
        (name), "path"                                                                                                             \
    }

/* A body model: a table of fields (pydantic's BaseModel). */
typedef enum en_h2api_field_type_t { H2API_FIELD_STR = 0, H2API_FIELD_INT, H2API_FIELD_BOOL } h2api_field_type_t;

typedef struct st_h2api_field_t {
    const char *name;
    h2api_field_type_t type;
    int required;             /* 0: optional, `default_json` used when absent */
    const char *default_json; /* JSON text of the default, e.g. "false"; NULL = omitted when absent */
    size_t min_length;        /* STR: Field(min_length=...) in characters; 0 = none */
    int has_ge;               /* INT: Field(ge=...) */
    long long ge;
} h2api_field_t;

typedef struct st_h2api_model_t {
    const char *name; /* for messages and docs, e.g. "PostCreate" */
    const h2api_field_t *fields;
    size_t num_fields;
} h2api_model_t;

typedef enum en_h2api_body_kind_t {
    H2API_BODY_OBJECT = 0, /* one object of `model` */
    H2API_BODY_LIST        /* a list of min_items..max_items objects of `model` (List[Model]) */
} h2api_body_kind_t;

/** The request body a route takes; `{0}` (no model) for none. */
typedef struct st_h2api_body_t {
    const h2api_model_t *model;
    h2api_body_kind_t kind;
    size_t min_items, max_items; /* H2API_BODY_LIST only */
} h2api_body_t;

/** One documented answer of a route (OpenAPI `responses`). */
typedef struct st_h2api_response_t {
    int status; /* 0 ends the list */
    const char *description;
    const h2api_model_t *model; /* the body's model, or NULL */
} h2api_response_t;

#define H2API_ROUTE_MAX_TAGS 4
#define H2API_ROUTE_MAX_PARAMS 8
#define H2API_ROUTE_MAX_RESPONSES 6

/**
 * A route, declared once in a `static const` table of its routes file. The first four fields
 * are positional; the rest are named (`.params = {&post_id}`). The table is not copied: it must
 * be static.
 */
typedef struct st_h2api_route_t {
    unsigned methods;    /* H2API_METHOD_* bits */
    const char *pattern; /* "/v1/posts/{post_id:int}": converters int, str (default) and path (last only) */
    h2api_handler_cb handler;
    const char *summary;     /* one line for docs */
    const char *description; /* longer docs, or NULL */
    const char *tags[H2API_ROUTE_MAX_TAGS];
    const h2api_path_param_t *params[H2API_ROUTE_MAX_PARAMS]; /* what the handler reads (h2api_path_int / _str) */
    h2api_body_t body;                                        /* read with h2api_body */
    h2api_response_t responses[H2API_ROUTE_MAX_RESPONSES];
} h2api_route_t;

/**
 * Registers `num_routes` rows of `routes` (static storage, not copied), in order; stops at the
 * first error. Each row is checked here, at start, not when a request comes: every handle in
 * `.params` must name a parameter of the pattern with the same converter, and a list body needs
 * a model. The reason of a refusal is written to stderr ("h2api: route GET /v1/posts/{id:int}:
 * the handler reads {post_id} which the pattern lacks").
 * @return 0; -EINVAL for a bad pattern or row; -EEXIST for a pattern and method registered twice.
 */
int h2api_app_add_routes(h2api_app_t *app, const h2api_route_t *routes, size_t num_routes);
#define H2API_ADD_ROUTES(app, table) h2api_app_add_routes((app), (table), H2API_LEN(table))

/* ---- reading the request ---- */

/**
 * The value of the int path parameter `param` (a handle listed in the route's `.params`). The
 * router has already answered 422 for a segment that is not an int64, so this cannot fail; a
 * handle the route did not declare is a bug in the route file and aborts with its name.
 */
int64_t h2api_path_int(h2api_request_t *r, const h2api_path_param_t *param);

/**
 * The percent-decoded value of the str or path parameter `param`, NUL-terminated, valid for the
 * request's life. Same rules as h2api_path_int.
 */
h2api_str_t h2api_path_str(h2api_request_t *r, const h2api_path_param_t *param);

/**
 * Finds query parameter `name` and percent-decodes its value (`+` is a space, as in
 * application/x-www-form-urlencoded) into the request's pool.
 * @return 1 and *value (NUL-terminated) if present, 0 if absent, -1 if its escape is malformed.
 */
int h2api_query(h2api_request_t *r, const char *name, h2api_str_t *value);

/** The value of request header `name` (lower-case), or {NULL, 0}. The first one if repeated. */
h2api_str_t h2api_header(h2api_request_t *r, const char *name);

/**
 * The request body, parsed as JSON and validated against the route's `.body` (pydantic's lax
 * coercion, every error collected), each item rendered back as compact JSON text holding only
 * the model's fields, defaults filled: one item for H2API_BODY_OBJECT, one per element for
 * H2API_BODY_LIST. A route with no body model gets the raw body as its one item.
 * @param num_items  if not NULL, receives the number of items
 * @return the items (in the request's pool); NULL after answering 422 {"detail": [errors]}
 *         (FastAPI's RequestValidationError shape): the handler then just returns 0.
 */
const h2api_str_t *h2api_body(h2api_request_t *r, size_t *num_items);

/* ---- answering ---- */

/**
 * Sends `len` bytes of JSON `body` (copied into the request's pool) with `status`, Content-Type
 * application/json and a Content-Length. A request whose client went away (answered 499)
 * drops the answer silently.
 */
void h2api_send_json(h2api_request_t *r, int status, const char *body, size_t len);

/**
 * Sends `{"detail": detail}` with `status`; `detail` is JSON-escaped (FastAPI's HTTPException).
 * A 503 carries Retry-After: 1 (RFC 9110 §10.2.3): our own limits clear within about a second.
 */
void h2api_send_error(h2api_request_t *r, int status, const char *detail);

/** Adds response header `name: value` (both copied) to the answer still to be sent. */
void h2api_set_header(h2api_request_t *r, const char *name, const char *value);

/* ---- calling upstreams: legs and stages ---- */

/* A pseudo upstream status for h2api_on_status_t: a 2xx answer whose JSON is an empty array `[]`. */
#define H2API_EMPTY_LIST 1

/** One row of a failure map: what the client gets when the upstream answers `upstream_status`. */
typedef struct st_h2api_on_status_t {
    int upstream_status; /* 0 ends the list */
    int status;          /* the status answered (or reported, under H2API_RETURN_EXCEPTIONS) */
    const char *detail;
} h2api_on_status_t;

/**
 * A leg: one kind of upstream call and its failure map, declared once (`static const`) and
 * used by every call of that kind. A call's outcome maps, in this order:
 * - a transport error: its own status and detail (502 connect or protocol, 503 our limits:
 *   pool, rate limit, circuit breaker, 504 timeouts);
 * - an upstream status listed in `on_status`: that row;
 * - another non-2xx status: 502 "Upstream answered N" (" for NAME" when `name` is set);
 * - a 2xx answer without a JSON Content-Type: 502 "Upstream answered with no JSON" (" for NAME")
 *   in a stage (its body would be spliced into JSON); h2api_relay passes it on as it came;
 * - a 2xx `[]` when H2API_EMPTY_LIST is listed: that row;
 * - else success: the body is the upstream's JSON, unparsed.
 */
typedef struct st_h2api_leg_t {
    const char *upstream; /* the configured upstream's name; NULL: the default one */
    const char *name;     /* names the leg in the default details ("the author"), or NULL */
    h2api_on_status_t on_status[4];
} h2api_leg_t;

/* h2api_stage flags */
enum {
    /* the default, like asyncio.gather(): the stage ends at the first transport error (the other
     * calls are cancelled) or when every call answered; then the first failed slot, in slot
     * order, is answered through its leg's failure map (with h2api_send_error) and the
     * continuation does not run */
    H2API_FAIL_FAST = 0,
    /* asyncio.gather(return_exceptions=True): every call runs to its end and the continuation
     * always runs; it reads each slot's outcome with h2api_slot_failure */
    H2API_RETURN_EXCEPTIONS = 1 << 0,
    /* at most the config's app.bulk_concurrency calls in flight (asyncio.Semaphore), started in slot order */
    H2API_BOUNDED = 1 << 1,
};

/**
 * A stage's continuation: the one callback shape of every stage. Runs once, on the worker's
 * loop, never from inside h2api_stage_start, and never for a request whose client went away
 * (its calls are cancelled instead). It must answer, or start the next stage.
 */
typedef void (*h2api_stage_cb)(h2api_request_t *r, h2api_stage_t *stage, void *data);

/**
 * Creates a stage: upstream calls that run in parallel, then `cb(r, stage, data)`. The stage and
 * its calls live in the request: a client that goes away cancels them.
 * @param flags  H2API_FAIL_FAST or H2API_RETURN_EXCEPTIONS, optionally | H2API_BOUNDED
 */
h2api_stage_t *h2api_stage(h2api_request_t *r, unsigned flags, h2api_stage_cb cb, void *data);

/**
 * Adds the next slot (0, 1, ...): `method` to the leg's upstream, on the path `fmt` formats
 * (printf; origin-form, query included; the upstream's base path is prepended), with `body`
 * (JSON, sent with Content-Type application/json; H2API_NO_BODY for none; it must live as long
 * as the request). The call carries the request's X-Request-ID. Nothing is sent before
 * h2api_stage_start.
 */
void h2api_stage_call(h2api_stage_t *stage, const h2api_leg_t *leg, const char *method, h2api_str_t body, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define h2api_stage_get(stage, leg, ...) h2api_stage_call((stage), (leg), "GET", H2API_NO_BODY, __VA_ARGS__)

/**
 * Starts the stage's calls (at least one slot). If a leg's upstream is not configured it answers
 * 503 {"detail":"No upstream is configured"} at once and the continuation never runs; every
 * other failure comes through the continuation or the failure map, later.
 */
void h2api_stage_start(h2api_stage_t *stage);

/** The number of slots of `stage`. */
size_t h2api_stage_size(h2api_stage_t *stage);

/** The JSON body of slot `slot` (valid in and after the continuation, for the request's life); {NULL, 0} if it failed. */
h2api_str_t h2api_slot_body(h2api_stage_t *stage, size_t slot);

/**
 * How slot `slot` ended, through its leg's failure map (see h2api_leg_t).
 * @return 0 on success; else the status to answer, with *detail (static or in the request's pool).
 */
int h2api_slot_failure(h2api_stage_t *stage, size_t slot, const char **detail);

/**
 * Reads the integer member `field` of the JSON object in slot `slot` (e.g. a post's "userId")
 * into *value. The body is parsed once, on the first read.
 * @return 0; -ENOENT if the slot failed, its body is not an object, or `field` is absent or not an integer.
 */
int h2api_slot_int(h2api_stage_t *stage, size_t slot, const char *field, int64_t *value);

/**
 * One call, answered: a one-slot H2API_FAIL_FAST stage whose continuation sends the upstream's
 * 2xx body unchanged with `status` (as a pass-through, whatever its Content-Type: it is not
 * spliced into a document). Failures map through `leg`. Arguments as h2api_stage_call.
 * @return 0 (the handler returns it).
 */
int h2api_relay(h2api_request_t *r, const h2api_leg_t *leg, int status, const char *method, h2api_str_t body, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* ---- building JSON ---- */

/**
 * A JSON writer in the request's pool, for answers made of upstream documents and fields.
 * Containers nest (up to 32 deep) and commas are written for you. Every value function takes
 * `key`: the member name inside an object, NULL inside an array or at the top. Misuse (a key
 * inside an array, an end with nothing open) is a bug and aborts.
 */
h2api_jsonb_t *h2api_jsonb(h2api_request_t *r);
/** Opens an object `{` (as member `key`). */
void h2api_jsonb_object(h2api_jsonb_t *jb, const char *key);
/** Opens an array `[` (as member `key`). */
void h2api_jsonb_array(h2api_jsonb_t *jb, const char *key);
/** Closes the innermost open object or array. */
void h2api_jsonb_end(h2api_jsonb_t *jb);
/**
 * Splices `json` (a complete JSON value, e.g. an upstream body; not checked) as member `key`.
 * It is not copied until the text is joined: it must live as long as the request (slot bodies,
 * h2api_body items and literals do).
 */
void h2api_jsonb_raw(h2api_jsonb_t *jb, const char *key, h2api_str_t json);
/** Writes `value` (NUL-terminated UTF-8) as a JSON string, escaped per RFC 8259 §7. */
void h2api_jsonb_str(h2api_jsonb_t *jb, const char *key, const char *value);
/** Writes an integer. */
void h2api_jsonb_int(h2api_jsonb_t *jb, const char *key, int64_t value);
/** The text written so far, joined into one piece of the request's pool (valid for the request's life). */
h2api_str_t h2api_jsonb_text(h2api_jsonb_t *jb);
/** Sends the finished document with `status` (as h2api_send_json, without a copy). Every container must be closed. */
void h2api_send_jsonb(h2api_request_t *r, int status, h2api_jsonb_t *jb);

#ifdef __cplusplus
}
#endif

#endif
