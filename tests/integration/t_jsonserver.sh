#!/bin/bash
# The example's own test assertions (async-example-py), against json-server 0.17.4 serving the
# real jsonplaceholder dataset as the upstream, with the demo upstream disabled.
# Skips (77) when json-server is not installed, unless H2API_REQUIRE_PEERS=1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

start_json_server

# Counts from the dataset itself, not hard-coded.
NPOSTS=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["posts"]))' "$DATA")
NUSER1=$("$PY" -c 'import json, sys; print(sum(1 for p in json.load(open(sys.argv[1]))["posts"] if p["userId"] == 1))' "$DATA")
"$PY" -c 'import json, sys; json.dump([p for p in json.load(open(sys.argv[1]))["posts"] if p["id"] == 1][0], open(sys.argv[2], "w"))' "$DATA" "$T/post1.json"

PORT=$(free_port)
write_conf "$T/h2api.yaml" "$PORT" "http://127.0.0.1:1"
H2API_UPSTREAM_URL=http://127.0.0.1:$JPORT start_server "$T/h2api.yaml" "$PORT" ||
    bail "server becomes ready" "/readyz 200 within 10 s" "no"
ok "server becomes ready (H2API_UPSTREAM_URL -> json-server)"
B=http://127.0.0.1:$PORT

# test_root
http "$B/"
check_code "root: 200" 200
check_json_eq "root: body" '{"message":"Welcome to the API Wrapper Example","versions":{"v1":"/v1"}}'

# test_get_posts
http "$B/v1/posts"
check_code "get_posts: 200" 200
check_json "get_posts: a non-empty list" 'isinstance(d, list) and len(d) > 0'
check_json "get_posts: all $NPOSTS posts of the dataset" "len(d) == $NPOSTS"

# test_get_post
http "$B/v1/posts/1"
check_code "get_post: 200" 200
check_json "get_post: id 1" 'd["id"] == 1'
check_json "get_post: exactly the dataset's post 1" "d == json.load(open('$T/post1.json'))"

# test_get_post_not_found
http "$B/v1/posts/999"
check_code "get_post_not_found: 404" 404
check_json_eq "get_post_not_found: body" '{"detail":"Post not found"}'

# test_get_user_posts
http "$B/v1/users/1/posts"
check_code "get_user_posts: 200" 200
check_json "get_user_posts: a list, all userId 1" 'isinstance(d, list) and all(p["userId"] == 1 for p in d)'
check_json "get_user_posts: $NUSER1 posts, as in the dataset" "len(d) == $NUSER1"

# test_get_user_posts_not_found
http "$B/v1/users/999/posts"
check_code "get_user_posts_not_found: 404" 404
check_json_eq "get_user_posts_not_found: body" '{"detail":"No posts found for this user"}'

# json-server answers chunked or keeps connections alive differently from the demo: a few
# sequential and concurrent calls over h2c through the same pool.
out=$(timeout 20 h2load -n 200 -c 4 -m 4 "$B/v1/posts/1" 2>&1)
check_contains "h2load 200 requests through json-server: 200 succeeded" "200 succeeded" "$(grep -E '^requests:' <<<"$out")"
check_contains "h2load through json-server: all 2xx" "status codes: 200 2xx" "$out"

finish
