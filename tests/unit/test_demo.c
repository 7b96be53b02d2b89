/*
 * The demo upstream's dataset: jsonplaceholder's counts, ids, foreign keys and key order,
 * valid compact JSON, and the same bytes on every run. The HTTP behaviour of its routes is
 * covered by the integration tests; here only the route table is checked.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "check_main.h"
#include "demo/demo.h"
#include "demo/internal.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *name;
    size_t count;
    const char *parent_key; /* NULL for users */
    size_t num_parents;
    const char *keys[9]; /* top-level keys in order, NULL-terminated */
} expected[] = {
    {"users", H2API_DEMO_USERS, NULL, 0, {"id", "name", "username", "email", "address", "phone", "website", "company", NULL}},
    {"posts", H2API_DEMO_POSTS, "userId", H2API_DEMO_USERS, {"userId", "id", "title", "body", NULL}},
    {"comments", H2API_DEMO_COMMENTS, "postId", H2API_DEMO_POSTS, {"postId", "id", "name", "email", "body", NULL}},
    {"albums", H2API_DEMO_ALBUMS, "userId", H2API_DEMO_USERS, {"userId", "id", "title", NULL}},
    {"photos", H2API_DEMO_PHOTOS, "albumId", H2API_DEMO_ALBUMS, {"albumId", "id", "title", "url", "thumbnailUrl", NULL}},
    {"todos", H2API_DEMO_TODOS, "userId", H2API_DEMO_USERS, {"userId", "id", "title", "completed", NULL}},
};

static h2api_conf_t conf;
static h2api_app_t *demo;

static void setup(void)
{
    memset(&conf, 0, sizeof(conf));
    demo = h2api_demo_create(&conf);
    ck_assert_ptr_nonnull(demo);
}

static void teardown(void)
{
    if (demo != NULL)
        h2api_demo_destroy(demo);
    demo = NULL;
}

/* the list of `name` as jansson values (the caller decrefs) */
static json_t *load_list(const char *name)
{
    size_t len = 0;
    const char *text = h2api_demo_resource_json(name, &len);
    ck_assert_msg(text != NULL, "no list for %s", name);
    json_error_t error;
    json_t *list = json_loadb(text, len, 0, &error);
    ck_assert_msg(list != NULL, "%s: invalid JSON at %d:%d: %s", name, error.line, error.column, error.text);
    ck_assert(json_is_array(list));
    return list;
}

static json_int_t int_member(json_t *obj, const char *key)
{
    json_t *value = json_object_get(obj, key);
    ck_assert_msg(json_is_integer(value), "%s is not an integer", key);
    return json_integer_value(value);
}

static const char *string_member(json_t *obj, const char *key)
{
    json_t *value = json_object_get(obj, key);
    ck_assert_msg(json_is_string(value), "%s is not a string", key);
    return json_string_value(value);
}

static void assert_keys(json_t *obj, const char *const *keys, const char *what)
{
    const char *key;
    json_t *value;
    size_t i = 0;
    ck_assert(json_is_object(obj));
    json_object_foreach(obj, key, value)
    {
        ck_assert_msg(keys[i] != NULL, "%s: unexpected key %s", what, key);
        ck_assert_msg(strcmp(key, keys[i]) == 0, "%s: key %zu is %s, expected %s", what, i, key, keys[i]);
        ++i;
    }
    ck_assert_msg(keys[i] == NULL, "%s: missing key %s", what, keys[i]);
}

/* FNV-1a, 64 bits */
static uint64_t hash_bytes(const char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i != len; ++i) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_resource(const char *name)
{
    size_t len = 0;
    const char *text = h2api_demo_resource_json(name, &len);
    ck_assert_ptr_nonnull(text);
    return hash_bytes(text, len);
}

START_TEST(test_counts_and_ids)
{
    for (size_t i = 0; i != LEN(expected); ++i) {
        json_t *list = load_list(expected[i].name), *obj;
        size_t index;
        ck_assert_uint_eq(json_array_size(list), expected[i].count);
        json_array_foreach(list, index, obj)
        {
            ck_assert_msg(int_member(obj, "id") == (json_int_t)index + 1, "%s[%zu] has id %lld", expected[i].name, index,
                          (long long)int_member(obj, "id"));
        }
        json_decref(list);
    }
}
END_TEST

START_TEST(test_foreign_keys)
{
    for (size_t i = 0; i != LEN(expected); ++i) {
        if (expected[i].parent_key == NULL)
            continue;
        json_t *list = load_list(expected[i].name), *obj;
        size_t index, children[H2API_DEMO_ALBUMS + 1] = {0};
        ck_assert_uint_lt(expected[i].num_parents, LEN(children));
        json_array_foreach(list, index, obj)
        {
            json_int_t parent = int_member(obj, expected[i].parent_key);
            ck_assert_msg(parent >= 1 && (size_t)parent <= expected[i].num_parents, "%s[%zu].%s = %lld", expected[i].name, index,
                          expected[i].parent_key, (long long)parent);
            ++children[parent];
        }
        /* jsonplaceholder: 10 posts, albums per user, 20 todos per user, 5 comments per post, 50 photos per album */
        for (size_t parent = 1; parent <= expected[i].num_parents; ++parent)
            ck_assert_msg(children[parent] == expected[i].count / expected[i].num_parents, "%s: %s %zu has %zu", expected[i].name,
                          expected[i].parent_key, parent, children[parent]);
        json_decref(list);
    }
}
END_TEST

/* the prebuilt per-parent lists (served for ?userId= and the nested routes) are the filtered whole list */
START_TEST(test_lists_by_parent)
{
    for (size_t i = 0; i != LEN(expected); ++i) {
        if (expected[i].parent_key == NULL)
            continue;
        const h2api__demo_resource_t *res = h2api__demo_data_find(expected[i].name);
        ck_assert_ptr_nonnull(res);
        ck_assert_uint_eq(res->num_parents, expected[i].num_parents);
        json_t *list = load_list(expected[i].name);
        for (size_t parent = 1; parent <= res->num_parents; ++parent) {
            json_t *filtered = json_array(), *obj, *sub;
            size_t index;
            json_array_foreach(list, index, obj)
            {
                if (int_member(obj, expected[i].parent_key) == (json_int_t)parent)
                    json_array_append(filtered, obj);
                ck_assert_uint_eq(res->parent_ids[index], (uint32_t)int_member(obj, expected[i].parent_key));
            }
            sub = json_loadb(res->by_parent[parent - 1].base, res->by_parent[parent - 1].len, 0, NULL);
            ck_assert_ptr_nonnull(sub);
            ck_assert_msg(json_equal(sub, filtered), "%s: list of %s %zu differs", expected[i].name, expected[i].parent_key,
                          parent);
            json_decref(sub);
            json_decref(filtered);
        }
        json_decref(list);
    }
}
END_TEST

START_TEST(test_key_order)
{
    static const char *const address_keys[] = {"street", "suite", "city", "zipcode", "geo", NULL};
    static const char *const geo_keys[] = {"lat", "lng", NULL};
    static const char *const company_keys[] = {"name", "catchPhrase", "bs", NULL};

    for (size_t i = 0; i != LEN(expected); ++i) {
        json_t *list = load_list(expected[i].name), *obj;
        size_t index;
        json_array_foreach(list, index, obj)
        {
            assert_keys(obj, expected[i].keys, expected[i].name);
            if (strcmp(expected[i].name, "users") == 0) {
                json_t *address = json_object_get(obj, "address");
                assert_keys(address, address_keys, "users.address");
                assert_keys(json_object_get(address, "geo"), geo_keys, "users.address.geo");
                assert_keys(json_object_get(obj, "company"), company_keys, "users.company");
            }
        }
        json_decref(list);
    }

    /* the bytes themselves, as a client sees them: compact, jsonplaceholder's order */
    const char *posts = h2api_demo_resource_json("posts", NULL);
    ck_assert_ptr_nonnull(posts);
    ck_assert_msg(strncmp(posts, "[{\"userId\":1,\"id\":1,\"title\":\"", 29) == 0, "posts start with %.40s", posts);
}
END_TEST

START_TEST(test_value_types)
{
    json_t *users = load_list("users"), *obj;
    size_t index;
    json_array_foreach(users, index, obj)
    {
        json_t *geo = json_object_get(json_object_get(obj, "address"), "geo");
        double lat = strtod(string_member(geo, "lat"), NULL), lng = strtod(string_member(geo, "lng"), NULL);
        ck_assert(lat >= -90 && lat <= 90);
        ck_assert(lng >= -180 && lng <= 180);
        ck_assert_uint_gt(strlen(string_member(obj, "name")), 0);
        ck_assert_uint_gt(strlen(string_member(obj, "phone")), 0);
        ck_assert_uint_gt(strlen(string_member(json_object_get(obj, "company"), "catchPhrase")), 0);
    }
    json_decref(users);

    json_t *todos = load_list("todos");
    size_t completed = 0;
    json_array_foreach(todos, index, obj)
    {
        ck_assert(json_is_boolean(json_object_get(obj, "completed")));
        completed += json_is_true(json_object_get(obj, "completed"));
    }
    ck_assert_uint_gt(completed, 0);
    ck_assert_uint_lt(completed, H2API_DEMO_TODOS);
    json_decref(todos);
}
END_TEST

START_TEST(test_text)
{
    static const struct {
        const char *resource, *key;
    } emails[] = {{"users", "email"}, {"comments", "email"}};
    json_t *list, *obj;
    size_t index;

    for (size_t i = 0; i != LEN(emails); ++i) {
        list = load_list(emails[i].resource);
        json_array_foreach(list, index, obj)
        {
            const char *email = string_member(obj, emails[i].key), *at = strchr(email, '@');
            ck_assert_msg(at != NULL && at != email && strchr(at, '.') != NULL, "%s[%zu]: email %s", emails[i].resource, index,
                          email);
        }
        json_decref(list);
    }

    list = load_list("photos");
    json_array_foreach(list, index, obj)
    {
        const char *url = string_member(obj, "url"), *thumbnail = string_member(obj, "thumbnailUrl");
        static const char url_prefix[] = "https://via.placeholder.invalid/600/",
                          thumbnail_prefix[] = "https://via.placeholder.invalid/150/";
        ck_assert_msg(strncmp(url, url_prefix, sizeof(url_prefix) - 1) == 0, "url %s", url);
        ck_assert_msg(strncmp(thumbnail, thumbnail_prefix, sizeof(thumbnail_prefix) - 1) == 0, "thumbnailUrl %s", thumbnail);
        const char *color = url + sizeof(url_prefix) - 1;
        ck_assert_uint_eq(strlen(color), 6);
        ck_assert_uint_eq(strspn(color, "0123456789abcdef"), 6);
        ck_assert_str_eq(color, thumbnail + sizeof(thumbnail_prefix) - 1);
    }
    json_decref(list);

    /* titles and bodies: lower-case words separated by one space (and newlines in bodies) */
    list = load_list("posts");
    json_array_foreach(list, index, obj)
    {
        const char *title = string_member(obj, "title"), *body = string_member(obj, "body");
        ck_assert_uint_gt(strlen(title), 0);
        ck_assert_uint_eq(strspn(title, "abcdefghijklmnopqrstuvwxyz "), strlen(title));
        ck_assert(title[0] != ' ' && title[strlen(title) - 1] != ' ' && strstr(title, "  ") == NULL);
        ck_assert_uint_eq(strspn(body, "abcdefghijklmnopqrstuvwxyz \n"), strlen(body));
        ck_assert_ptr_nonnull(strchr(body, '\n'));
    }
    json_decref(list);
}
END_TEST

/* every list and every object is valid JSON in its canonical compact form */
START_TEST(test_valid_compact_json)
{
    for (size_t i = 0; i != LEN(expected); ++i) {
        const h2api__demo_resource_t *res = h2api__demo_data_find(expected[i].name);
        ck_assert_ptr_nonnull(res);
        size_t len = 0;
        const char *text = h2api_demo_resource_json(expected[i].name, &len);
        ck_assert_ptr_eq(text, res->list.base);
        ck_assert_uint_eq(strlen(text), len);

        json_t *list = load_list(expected[i].name);
        char *again = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
        ck_assert_ptr_nonnull(again);
        ck_assert_msg(strlen(again) == len && memcmp(again, text, len) == 0, "%s is not in compact form", expected[i].name);
        free(again);

        for (size_t id = 1; id <= res->count; ++id) {
            json_t *obj = json_loadb(res->objects[id - 1].base, res->objects[id - 1].len, 0, NULL);
            ck_assert_msg(obj != NULL, "%s/%zu: invalid JSON", expected[i].name, id);
            ck_assert(json_equal(obj, json_array_get(list, id - 1)));
            json_decref(obj);
        }
        json_decref(list);
    }
}
END_TEST

/*
 * The dataset is the same bytes every run. The golden hashes pin it across builds and
 * platforms; a deliberate change of the generator updates them (the failure message prints
 * the new value).
 */
START_TEST(test_determinism)
{
    static const struct {
        const char *name;
        uint64_t hash;
    } golden[] = {
        {"users", 0xd6bb2783e6c56268ULL},  {"posts", 0x4fc4c27caa3cf5c0ULL},  {"comments", 0x77f7e102ef55a51cULL},
        {"albums", 0x0f4db0434dafed5fULL}, {"photos", 0x5e10c2047a3c645bULL}, {"todos", 0x6126df8c7548c3c0ULL},
    };
    uint64_t before[LEN(golden)];

    for (size_t i = 0; i != LEN(golden); ++i) {
        before[i] = hash_resource(golden[i].name);
        ck_assert_msg(before[i] == hash_resource(golden[i].name), "%s: two renders differ", golden[i].name);
        ck_assert_msg(before[i] == golden[i].hash, "%s: hash 0x%016llxULL, golden 0x%016llxULL", golden[i].name,
                      (unsigned long long)before[i], (unsigned long long)golden[i].hash);
    }

    h2api_demo_destroy(demo);
    demo = NULL;
    ck_assert_ptr_null(h2api_demo_resource_json("posts", NULL));
    demo = h2api_demo_create(&conf);
    for (size_t i = 0; i != LEN(golden); ++i)
        ck_assert_msg(hash_resource(golden[i].name) == before[i], "%s differs after destroy and create", golden[i].name);
}
END_TEST

/* create twice builds the dataset once; it lives until the last destroy */
START_TEST(test_lifetime)
{
    size_t len1 = 0, len2 = 0;
    const char *first = h2api_demo_resource_json("photos", &len1);
    h2api_app_t *second = h2api_demo_create(&conf);
    ck_assert_ptr_nonnull(second);
    ck_assert_ptr_eq(h2api_demo_resource_json("photos", &len2), first);
    ck_assert_uint_eq(len1, len2);

    h2api_demo_destroy(second);
    ck_assert_ptr_eq(h2api_demo_resource_json("photos", NULL), first);
    h2api_demo_destroy(demo);
    demo = NULL;
    ck_assert_ptr_null(h2api_demo_resource_json("photos", NULL));
}
END_TEST

START_TEST(test_unknown_resource)
{
    size_t len = 12345;
    ck_assert_ptr_null(h2api_demo_resource_json("nope", &len));
    ck_assert_ptr_null(h2api_demo_resource_json("", &len));
    ck_assert_ptr_null(h2api_demo_resource_json("Posts", &len));
    ck_assert_uint_eq(len, 12345);
}
END_TEST

START_TEST(test_routes)
{
    static const struct {
        unsigned methods;
        const char *pattern;
    } wanted[] = {
        {H2API_METHOD_GET, "/posts/{id:int}/comments"}, {H2API_METHOD_GET, "/users/{id:int}/posts"},
        {H2API_METHOD_GET, "/users/{id:int}/todos"},    {H2API_METHOD_GET, "/users/{id:int}/albums"},
        {H2API_METHOD_GET, "/albums/{id:int}/photos"},
    };
    static const unsigned list_methods[] = {H2API_METHOD_GET, H2API_METHOD_POST};
    static const unsigned item_methods[] = {H2API_METHOD_GET, H2API_METHOD_PUT, H2API_METHOD_PATCH, H2API_METHOD_DELETE};
    size_t num_routes = 0, found = 0;
    const h2api_route_t *const *routes = h2api_app_routes(demo, &num_routes);

    ck_assert_uint_eq(num_routes, LEN(expected) * (LEN(list_methods) + LEN(item_methods)) + LEN(wanted));
    for (size_t i = 0; i != num_routes; ++i) {
        ck_assert_ptr_nonnull(routes[i]->handler);
        ck_assert_ptr_nonnull(routes[i]->summary);
    }
    for (size_t i = 0; i != LEN(expected); ++i) {
        char list_pattern[64], item_pattern[64];
        snprintf(list_pattern, sizeof(list_pattern), "/%s", expected[i].name);
        snprintf(item_pattern, sizeof(item_pattern), "/%s/{id:int}", expected[i].name);
        unsigned list = 0, item = 0;
        for (size_t j = 0; j != num_routes; ++j) {
            if (strcmp(routes[j]->pattern, list_pattern) == 0)
                list |= routes[j]->methods;
            else if (strcmp(routes[j]->pattern, item_pattern) == 0)
                item |= routes[j]->methods;
        }
        ck_assert_uint_eq(list, H2API_METHOD_GET | H2API_METHOD_POST);
        ck_assert_uint_eq(item, H2API_METHOD_GET | H2API_METHOD_PUT | H2API_METHOD_PATCH | H2API_METHOD_DELETE);
    }
    for (size_t i = 0; i != LEN(wanted); ++i)
        for (size_t j = 0; j != num_routes; ++j)
            if (strcmp(routes[j]->pattern, wanted[i].pattern) == 0 && routes[j]->methods == wanted[i].methods)
                ++found;
    ck_assert_uint_eq(found, LEN(wanted));
}
END_TEST

Suite *unit_suite(void)
{
    const unit_case_t cases[] = {
        {"counts_and_ids", test_counts_and_ids},
        {"foreign_keys", test_foreign_keys},
        {"lists_by_parent", test_lists_by_parent},
        {"key_order", test_key_order},
        {"value_types", test_value_types},
        {"text", test_text},
        {"valid_compact_json", test_valid_compact_json},
        {"determinism", test_determinism},
        {"lifetime", test_lifetime},
        {"unknown_resource", test_unknown_resource},
        {"routes", test_routes},
    };
    return unit_suite_create("demo", setup, teardown, 30, cases, UNIT_LEN(cases));
}
