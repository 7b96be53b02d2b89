/*
 * The demo dataset: jsonplaceholder's schema, counts and key order, with generated content.
 *
 * One splitmix64 stream with a fixed seed drives everything, in a fixed order (users, posts,
 * comments, albums, photos, todos; each by id), so the bytes are the same on every run and
 * every platform: the generator uses integer arithmetic only (coordinates included).
 * The text is pseudo-latin made from the word list below; host names use the reserved .example,
 * .test and .invalid domains (RFC 2606) so that nothing in the data points at a real site.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "demo/demo.h"
#include "demo/internal.h"

#define DEMO_SEED 0x68326170692d6465ULL /* "h2api-de" */

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const words[] = {
    "abrin",  "acuta", "alvem", "ambro", "arcet", "bavor",  "belum",  "brisa",  "caldor", "cenra",  "civam",  "corvi", "dabra",
    "delto",  "dimor", "durva", "elsum", "emira", "ervat",  "fasto",  "felor",  "fimbra", "gaval",  "gento",  "girum", "havo",
    "hestra", "ibor",  "indra", "ivam",  "jovel", "lacrum", "lentis", "lorva",  "mavet",  "menor",  "mirta",  "nabis", "nerva",
    "novet",  "obra",  "orvis", "palto", "pervi", "quasto", "ravel",  "ristum", "rova",   "salvet", "sentra", "sivo",  "tabor",
    "tenvi",  "turma", "ulvar", "umbet", "varon", "velta",  "virum",  "xerva",  "zanta",  "cresto", "brevum", "ostra",
};
static const char *const first_names[] = {"Adela", "Bruno", "Celia", "Dorian", "Elsa", "Felix", "Greta", "Hugo",
                                          "Ines",  "Jonas", "Klara", "Lukas",  "Mira", "Nils",  "Olga",  "Pavel"};
static const char *const last_names[] = {"Varga",   "Lindqvist", "Moreau", "Okafor",   "Brandt", "Castell", "Novak", "Ferreira",
                                         "Haldane", "Quist",     "Rowe",   "Sandoval", "Tamura", "Ulrich",  "Vance", "Whitlock"};
static const char *const street_kinds[] = {"Street", "Avenue", "Lane", "Road", "Way", "Court", "Drive", "Terrace"};
static const char *const city_endings[] = {"ville", "burg", "ford", "haven", "ton", "field"};
static const char *const company_kinds[] = {"Group", "LLC", "and Sons", "Partners", "Works"};
static const char *const domains[] = {"example", "test", "invalid"};
static const char *const catch_adjectives[] = {"Adaptive", "Balanced",  "Centralized", "Distributed", "Elastic",
                                               "Focused",  "Graceful",  "Holistic",    "Incremental", "Layered",
                                               "Modular",  "Resilient", "Scalable",    "Unified"};
static const char *const catch_descriptors[] = {"asynchronous", "cloud-native", "event-driven", "fault-tolerant", "lock-free",
                                                "zero-copy",    "stateless",    "streaming",    "typed",          "versioned"};
static const char *const catch_nouns[] = {"pipeline",  "gateway",   "scheduler", "cache",   "protocol",
                                          "framework", "interface", "mesh",      "runtime", "toolchain"};
static const char *const bs_verbs[] = {"assemble", "bootstrap", "cultivate",   "deploy",
                                       "federate", "harmonize", "orchestrate", "streamline"};
static const char *const bs_adjectives[] = {"composable", "edge-first", "granular", "modular", "observable", "reactive"};
static const char *const bs_nouns[] = {"backends", "workflows", "pipelines", "platforms", "services", "ecosystems"};

static h2api__demo_resource_t resources[H2API__DEMO_NUM_RESOURCES] = {
    [H2API__DEMO_USERS] = {.name = "users", .parent_key = NULL, .count = H2API_DEMO_USERS, .num_parents = 0},
    [H2API__DEMO_POSTS] = {.name = "posts", .parent_key = "userId", .count = H2API_DEMO_POSTS, .num_parents = H2API_DEMO_USERS},
    [H2API__DEMO_COMMENTS] = {.name = "comments",
                              .parent_key = "postId",
                              .count = H2API_DEMO_COMMENTS,
                              .num_parents = H2API_DEMO_POSTS},
    [H2API__DEMO_ALBUMS] = {.name = "albums", .parent_key = "userId", .count = H2API_DEMO_ALBUMS, .num_parents = H2API_DEMO_USERS},
    [H2API__DEMO_PHOTOS] = {.name = "photos",
                            .parent_key = "albumId",
                            .count = H2API_DEMO_PHOTOS,
                            .num_parents = H2API_DEMO_ALBUMS},
    [H2API__DEMO_TODOS] = {.name = "todos", .parent_key = "userId", .count = H2API_DEMO_TODOS, .num_parents = H2API_DEMO_USERS},
};
static unsigned num_refs;

/* ---- generator ---- */

static uint64_t rng_state;

/* splitmix64 (Steele, Lea, Flood 2014), as in Vigna's public-domain reference */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* a value in [0, n); the modulo bias is irrelevant for n this small */
static unsigned rng_below(unsigned n)
{
    return (unsigned)(rng_next() % n);
}

/* a value in [lo, hi] */
static unsigned rng_range(unsigned lo, unsigned hi)
{
    return lo + rng_below(hi - lo + 1);
}

static const char *pick_from(const char *const *list, size_t n)
{
    return list[rng_below((unsigned)n)];
}
#define PICK(list) pick_from(list, LEN(list))

/* copies `src` into `dst` in a random order (Fisher-Yates) */
static void shuffle(const char **dst, const char *const *src, size_t n)
{
    memcpy(dst, src, n * sizeof(*dst));
    for (size_t i = n - 1; i != 0; --i) {
        size_t j = rng_below((unsigned)i + 1);
        const char *tmp = dst[i];
        dst[i] = dst[j];
        dst[j] = tmp;
    }
}

/* ---- text ---- */

typedef struct st_demo_text_buf_t {
    char s[1024];
    size_t len;
} demo_text_buf_t;

static void buf_reset(demo_text_buf_t *b)
{
    b->len = 0;
    b->s[0] = '\0';
}

/* appends to `b`; the buffers are sized far above the longest text generated, truncation cannot happen */
static void buf_printf(demo_text_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, sizeof(b->s) - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(b->s) - b->len)
        abort();
    b->len += (size_t)n;
}

/* min..max words, space-separated */
static void buf_words(demo_text_buf_t *b, unsigned min, unsigned max)
{
    unsigned n = rng_range(min, max);
    for (unsigned i = 0; i != n; ++i)
        buf_printf(b, "%s%s", i == 0 ? "" : " ", PICK(words));
}

/* a jsonplaceholder-like body: `lines` lines of min..max words, newline-separated */
static const char *gen_paragraph(demo_text_buf_t *b, unsigned lines, unsigned min, unsigned max)
{
    buf_reset(b);
    for (unsigned i = 0; i != lines; ++i) {
        if (i != 0)
            buf_printf(b, "\n");
        buf_words(b, min, max);
    }
    return b->s;
}

static const char *gen_words(demo_text_buf_t *b, unsigned min, unsigned max)
{
    buf_reset(b);
    buf_words(b, min, max);
    return b->s;
}

/* a word with its first letter upper-cased */
static const char *gen_capitalized(demo_text_buf_t *b)
{
    buf_reset(b);
    buf_printf(b, "%s", PICK(words));
    b->s[0] = (char)(b->s[0] - 'a' + 'A');
    return b->s;
}

/* a signed decimal with 4 places in [-limit, limit], e.g. "-37.3159", from integers only */
static const char *gen_coordinate(demo_text_buf_t *b, unsigned limit)
{
    unsigned units = rng_below(2 * limit * 10000 + 1);
    unsigned magnitude = units >= limit * 10000 ? units - limit * 10000 : limit * 10000 - units;
    buf_reset(b);
    buf_printf(b, "%s%u.%04u", units < limit * 10000 ? "-" : "", magnitude / 10000, magnitude % 10000);
    return b->s;
}

static const char *gen_phone(demo_text_buf_t *b)
{
    unsigned exchange = rng_range(100, 999), line = rng_below(10000);
    buf_reset(b);
    switch (rng_below(3)) {
    case 0:
        buf_printf(b, "1-555-%03u-%04u x%u", exchange, line, rng_range(100, 99999));
        break;
    case 1:
        buf_printf(b, "(555) %03u-%04u", exchange, line);
        break;
    default:
        buf_printf(b, "555.%03u.%04u", exchange, line);
        break;
    }
    return b->s;
}

/* ---- rendering ---- */

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL)
        abort();
    return p;
}

/* stores `obj` (a new reference, NULL only if json_pack was misused) rendered as object `id` of `res` */
static void put_object(h2api__demo_resource_t *res, size_t id, uint32_t parent_id, json_t *obj)
{
    if (obj == NULL)
        abort();
    char *text = json_dumps(obj, H2API__DEMO_JSON_FLAGS);
    if (text == NULL)
        abort();
    json_decref(obj);
    res->objects[id - 1] = (h2api__demo_text_t){text, strlen(text)};
    res->parent_ids[id - 1] = parent_id;
}

/* joins the objects of `res` whose parent is `parent_id` (all of them for 0) into a malloc'ed "[a,b,...]" */
static h2api__demo_text_t join_objects(const h2api__demo_resource_t *res, uint32_t parent_id)
{
    size_t len = 2;
    for (size_t i = 0; i != res->count; ++i)
        if (parent_id == 0 || res->parent_ids[i] == parent_id)
            len += res->objects[i].len + 1;
    char *text = xmalloc(len + 1), *p = text;
    *p++ = '[';
    for (size_t i = 0; i != res->count; ++i) {
        if (parent_id == 0 || res->parent_ids[i] == parent_id) {
            if (p != text + 1)
                *p++ = ',';
            memcpy(p, res->objects[i].base, res->objects[i].len);
            p += res->objects[i].len;
        }
    }
    *p++ = ']';
    *p = '\0';
    return (h2api__demo_text_t){text, (size_t)(p - text)};
}

/*
 * Every draw from the generator is its own statement: C leaves the order in which function
 * arguments are evaluated unspecified, and two draws in one argument list would make the data
 * depend on the compiler.
 */
static void gen_users(h2api__demo_resource_t *res)
{
    demo_text_buf_t name, username, email, street, suite, city, zip, lat, lng, phone, website, company, catch_phrase, bs, word;
    const char *firsts[LEN(first_names)], *lasts[LEN(last_names)];
    shuffle(firsts, first_names, LEN(first_names));
    shuffle(lasts, last_names, LEN(last_names));
    for (size_t id = 1; id <= res->count; ++id) {
        /* distinct names while there are enough of them */
        const char *first = firsts[(id - 1) % LEN(firsts)], *last = lasts[(id - 1) % LEN(lasts)];
        const char *sep = rng_below(2) ? "." : "_";
        unsigned number = rng_range(1, 99);
        buf_reset(&name);
        buf_printf(&name, "%s %s", first, last);
        buf_reset(&username);
        buf_printf(&username, "%s%s%u", first, sep, number);

        const char *mailbox = gen_capitalized(&word), *host = PICK(words), *tld = PICK(domains);
        buf_reset(&email);
        buf_printf(&email, "%s@%s.%s", mailbox, host, tld);

        const char *street_name = gen_capitalized(&word), *street_kind = PICK(street_kinds);
        buf_reset(&street);
        buf_printf(&street, "%s %s", street_name, street_kind);
        const char *suite_kind = rng_below(2) ? "Apt." : "Suite";
        unsigned suite_number = rng_range(100, 999);
        buf_reset(&suite);
        buf_printf(&suite, "%s %u", suite_kind, suite_number);
        const char *city_name = gen_capitalized(&word), *city_ending = PICK(city_endings);
        buf_reset(&city);
        buf_printf(&city, "%s%s", city_name, city_ending);
        unsigned zip5 = rng_below(100000), zip4 = rng_below(10000);
        buf_reset(&zip);
        buf_printf(&zip, "%05u-%04u", zip5, zip4);
        gen_coordinate(&lat, 90);
        gen_coordinate(&lng, 180);

        gen_phone(&phone);
        const char *site1 = PICK(words), *site2 = PICK(words), *site_tld = PICK(domains);
        buf_reset(&website);
        buf_printf(&website, "%s%s.%s", site1, site2, site_tld);

        const char *partner1 = PICK(last_names);
        buf_reset(&company);
        if (rng_below(2)) {
            const char *partner2 = PICK(last_names);
            buf_printf(&company, "%s-%s", partner1, partner2);
        } else {
            const char *kind = PICK(company_kinds);
            buf_printf(&company, "%s %s", partner1, kind);
        }
        const char *adjective = PICK(catch_adjectives), *descriptor = PICK(catch_descriptors), *noun = PICK(catch_nouns);
        buf_reset(&catch_phrase);
        buf_printf(&catch_phrase, "%s %s %s", adjective, descriptor, noun);
        const char *bs_verb = PICK(bs_verbs), *bs_adjective = PICK(bs_adjectives), *bs_noun = PICK(bs_nouns);
        buf_reset(&bs);
        buf_printf(&bs, "%s %s %s", bs_verb, bs_adjective, bs_noun);

        put_object(res, id, 0,
                   json_pack("{s:i, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{s:s, s:s}}, s:s, s:s, s:{s:s, s:s, s:s}}", "id",
                             (int)id, "name", name.s, "username", username.s, "email", email.s, "address", "street", street.s,
                             "suite", suite.s, "city", city.s, "zipcode", zip.s, "geo", "lat", lat.s, "lng", lng.s, "phone",
                             phone.s, "website", website.s, "company", "name", company.s, "catchPhrase", catch_phrase.s, "bs",
                             bs.s));
    }
}

static void gen_posts(h2api__demo_resource_t *res)
{
    demo_text_buf_t title, body;
    size_t per_user = res->count / res->num_parents;
    for (size_t id = 1; id <= res->count; ++id) {
        uint32_t user_id = (uint32_t)((id - 1) / per_user + 1);
        gen_words(&title, 3, 9);
        gen_paragraph(&body, 4, 5, 9);
        put_object(res, id, user_id,
                   json_pack("{s:i, s:i, s:s, s:s}", "userId", (int)user_id, "id", (int)id, "title", title.s, "body", body.s));
    }
}

static void gen_comments(h2api__demo_resource_t *res)
{
    demo_text_buf_t name, email, body;
    size_t per_post = res->count / res->num_parents;
    for (size_t id = 1; id <= res->count; ++id) {
        uint32_t post_id = (uint32_t)((id - 1) / per_post + 1);
        gen_words(&name, 3, 7);
        const char *first = PICK(first_names), *last = PICK(last_names), *host = PICK(words), *tld = PICK(domains);
        buf_reset(&email);
        buf_printf(&email, "%s_%s@%s.%s", first, last, host, tld);
        gen_paragraph(&body, 4, 4, 8);
        put_object(res, id, post_id,
                   json_pack("{s:i, s:i, s:s, s:s, s:s}", "postId", (int)post_id, "id", (int)id, "name", name.s, "email", email.s,
                             "body", body.s));
    }
}

static void gen_albums(h2api__demo_resource_t *res)
{
    demo_text_buf_t title;
    size_t per_user = res->count / res->num_parents;
    for (size_t id = 1; id <= res->count; ++id) {
        uint32_t user_id = (uint32_t)((id - 1) / per_user + 1);
        gen_words(&title, 2, 6);
        put_object(res, id, user_id, json_pack("{s:i, s:i, s:s}", "userId", (int)user_id, "id", (int)id, "title", title.s));
    }
}

static void gen_photos(h2api__demo_resource_t *res)
{
    demo_text_buf_t title, url, thumbnail_url;
    size_t per_album = res->count / res->num_parents;
    for (size_t id = 1; id <= res->count; ++id) {
        uint32_t album_id = (uint32_t)((id - 1) / per_album + 1);
        gen_words(&title, 3, 9);
        unsigned color = rng_below(0x1000000);
        buf_reset(&url);
        buf_printf(&url, "https://via.placeholder.invalid/600/%06x", color);
        buf_reset(&thumbnail_url);
        buf_printf(&thumbnail_url, "https://via.placeholder.invalid/150/%06x", color);
        put_object(res, id, album_id,
                   json_pack("{s:i, s:i, s:s, s:s, s:s}", "albumId", (int)album_id, "id", (int)id, "title", title.s, "url", url.s,
                             "thumbnailUrl", thumbnail_url.s));
    }
}

static void gen_todos(h2api__demo_resource_t *res)
{
    demo_text_buf_t title;
    size_t per_user = res->count / res->num_parents;
    for (size_t id = 1; id <= res->count; ++id) {
        uint32_t user_id = (uint32_t)((id - 1) / per_user + 1);
        gen_words(&title, 2, 8);
        int completed = rng_below(100) < 45;
        put_object(
            res, id, user_id,
            json_pack("{s:i, s:i, s:s, s:b}", "userId", (int)user_id, "id", (int)id, "title", title.s, "completed", completed));
    }
}

static void (*const generators[H2API__DEMO_NUM_RESOURCES])(h2api__demo_resource_t *) = {
    [H2API__DEMO_USERS] = gen_users,   [H2API__DEMO_POSTS] = gen_posts,   [H2API__DEMO_COMMENTS] = gen_comments,
    [H2API__DEMO_ALBUMS] = gen_albums, [H2API__DEMO_PHOTOS] = gen_photos, [H2API__DEMO_TODOS] = gen_todos,
};

void h2api__demo_data_acquire(void)
{
    if (num_refs++ != 0)
        return;

    rng_state = DEMO_SEED;
    for (size_t i = 0; i != H2API__DEMO_NUM_RESOURCES; ++i) {
        h2api__demo_resource_t *res = &resources[i];
        res->objects = xmalloc(res->count * sizeof(*res->objects));
        res->parent_ids = xmalloc(res->count * sizeof(*res->parent_ids));
        generators[i](res);
        res->list = join_objects(res, 0);
        res->by_parent = res->num_parents != 0 ? xmalloc(res->num_parents * sizeof(*res->by_parent)) : NULL;
        for (size_t pid = 1; pid <= res->num_parents; ++pid)
            res->by_parent[pid - 1] = join_objects(res, (uint32_t)pid);
    }
}

void h2api__demo_data_release(void)
{
    if (num_refs == 0 || --num_refs != 0)
        return;

    for (size_t i = 0; i != H2API__DEMO_NUM_RESOURCES; ++i) {
        h2api__demo_resource_t *res = &resources[i];
        for (size_t j = 0; j != res->count; ++j)
            free((char *)res->objects[j].base);
        for (size_t j = 0; j != res->num_parents; ++j)
            free((char *)res->by_parent[j].base);
        free((char *)res->list.base);
        free(res->objects);
        free(res->by_parent);
        free(res->parent_ids);
        res->objects = NULL;
        res->by_parent = NULL;
        res->parent_ids = NULL;
        res->list = (h2api__demo_text_t){NULL, 0};
    }
}

const h2api__demo_resource_t *h2api__demo_data_get(size_t index)
{
    if (num_refs == 0 || index >= H2API__DEMO_NUM_RESOURCES)
        return NULL;
    return &resources[index];
}

const h2api__demo_resource_t *h2api__demo_data_find(const char *name)
{
    for (size_t i = 0; i != H2API__DEMO_NUM_RESOURCES; ++i)
        if (strcmp(resources[i].name, name) == 0)
            return h2api__demo_data_get(i);
    return NULL;
}
