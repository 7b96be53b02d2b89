/*
 * An h2api service built out of tree against the installed library (see README.md):
 *
 *     GET /v1/albums/{album_id:int}/summary -> {"album": {...}, "photos": [...], "owner": {...}}
 *
 * The album and its photos are fetched in parallel, then the album's owner from album.userId.
 * An unknown album is 404 {"detail":"Album not found"}; any other upstream failure maps as the
 * legs say (502 naming the upstream status, 503 / 504 for our limits and timeouts).
 */
#include <inttypes.h>
#include <h2api.h>

static const h2api_path_param_t album_id = H2API_PATH_INT("album_id");
static const h2api_leg_t album_leg = {.name = "the album", .on_status = {{404, 404, "Album not found"}}};
static const h2api_leg_t photos_leg = {.name = "the photos"};
static const h2api_leg_t owner_leg = {.name = "the owner"};

static void on_owner(h2api_request_t *r, h2api_stage_t *owner, void *album_and_photos)
{
    h2api_jsonb_t *jb = h2api_jsonb(r);
    h2api_jsonb_object(jb, NULL);
    h2api_jsonb_raw(jb, "album", h2api_slot_body(album_and_photos, 0));
    h2api_jsonb_raw(jb, "photos", h2api_slot_body(album_and_photos, 1));
    h2api_jsonb_raw(jb, "owner", h2api_slot_body(owner, 0));
    h2api_jsonb_end(jb);
    h2api_send_jsonb(r, 200, jb);
}

static void on_album_and_photos(h2api_request_t *r, h2api_stage_t *first, void *data)
{
    int64_t user_id;
    if (h2api_slot_int(first, 0, "userId", &user_id) != 0) {
        h2api_send_error(r, 502, "Upstream answered an album with no userId");
        return;
    }
    h2api_stage_t *owner = h2api_stage(r, H2API_FAIL_FAST, on_owner, first);
    h2api_stage_get(owner, &owner_leg, "/users/%" PRId64, user_id);
    h2api_stage_start(owner);
}

static int album_summary(h2api_request_t *r)
{
    int64_t id = h2api_path_int(r, &album_id);
    h2api_stage_t *first = h2api_stage(r, H2API_FAIL_FAST, on_album_and_photos, NULL);
    h2api_stage_get(first, &album_leg, "/albums/%" PRId64, id);
    h2api_stage_get(first, &photos_leg, "/photos?albumId=%" PRId64, id);
    h2api_stage_start(first);
    return 0;
}

static const h2api_route_t routes[] = {
    {H2API_METHOD_GET, "/v1/albums/{album_id:int}/summary", album_summary, "An album, its photos and its owner", .tags = {"albums"},
     .params = {&album_id}},
};

static int setup(h2api_app_t *app, void *data)
{
    return H2API_ADD_ROUTES(app, routes);
}

int main(int argc, char **argv)
{
    return h2api_main(argc, argv, setup, NULL);
}
