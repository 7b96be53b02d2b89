#!/bin/bash
# The command line, the example routes against the embedded demo upstream, X-Request-ID and the
# access log, the demo upstream itself, and the environment overrides.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

# ---------------------------------------------------------------- command line
out=$("$H2API_BIN" --version 2>&1)
rc=$?
check_eq "--version exits 0" 0 "$rc"
check_contains "--version prints the version" "h2api 0.1.0" "$out"

out=$("$H2API_BIN" --help 2>&1)
rc=$?
check_eq "--help exits 0" 0 "$rc"
check_contains "--help shows -c" "-c" "$out"

"$H2API_BIN" --no-such-option >/dev/null 2>"$T/unknown.err" </dev/null
check_eq "unknown option exits 2" 2 "$?"

# ---------------------------------------------------------------- server with the demo upstream
PORT=$(free_port)
DEMO=$(free_port)
write_conf "$T/h2api.yaml" "$PORT" "http://127.0.0.1:$DEMO" "$DEMO"
start_server "$T/h2api.yaml" "$PORT" || bail "server becomes ready" "/readyz 200 within 10 s" "no"
ok "server becomes ready"
B=http://127.0.0.1:$PORT

http "$B/healthz"
check_code "GET /healthz" 200
check_json_eq "GET /healthz body" '{"status":"ok"}'
http "$B/readyz"
check_code "GET /readyz" 200
check_json_eq "GET /readyz body" '{"status":"ready"}'

http "$B/"
check_code "GET /" 200
check_json_ct "GET / content-type"
check_json_eq "GET / body" '{"message":"Welcome to the API Wrapper Example","versions":{"v1":"/v1"}}'

http "$B/v1/posts"
check_code "GET /v1/posts" 200
check_json_ct "GET /v1/posts content-type"
check_json "GET /v1/posts is a list of 100 posts" 'isinstance(d, list) and len(d) == 100'
check_json "GET /v1/posts items have the jsonplaceholder schema" \
    'all(set(p) >= {"userId", "id", "title", "body"} for p in d)'
check_json "GET /v1/posts ids are 1..100" 'sorted(p["id"] for p in d) == list(range(1, 101))'

http "$B/v1/posts/1"
check_code "GET /v1/posts/1" 200
check_json "GET /v1/posts/1 has id 1" 'd["id"] == 1 and d["userId"] == 1 and isinstance(d["title"], str)'

http "$B/v1/posts/100"
check_code "GET /v1/posts/100" 200
check_json "GET /v1/posts/100 has id 100" 'd["id"] == 100'

http "$B/v1/posts/999"
check_code "GET /v1/posts/999" 404
check_json_ct "GET /v1/posts/999 content-type"
check_json_eq "GET /v1/posts/999 body" '{"detail":"Post not found"}'

http "$B/v1/users/1/posts"
check_code "GET /v1/users/1/posts" 200
check_json "GET /v1/users/1/posts: 10 posts, all userId 1" \
    'isinstance(d, list) and len(d) == 10 and all(p["userId"] == 1 for p in d)'

http "$B/v1/users/7/posts"
check_code "GET /v1/users/7/posts" 200
check_json "GET /v1/users/7/posts: all userId 7" 'len(d) == 10 and all(p["userId"] == 7 for p in d)'

http "$B/v1/users/999/posts"
check_code "GET /v1/users/999/posts" 404
check_json_eq "GET /v1/users/999/posts body" '{"detail":"No posts found for this user"}'

# A query string on our route is not passed to the upstream as a second filter.
http "$B/v1/users/2/posts?userId=1"
check_code "GET /v1/users/2/posts?userId=1" 200
check_json "GET /v1/users/2/posts?userId=1 answers user 2's posts" 'len(d) > 0 and all(p["userId"] == 2 for p in d)'

# ---------------------------------------------------------------- X-Request-ID
http -H 'X-Request-ID: abc-123' "$B/"
check_eq "X-Request-ID sent sane is echoed" "abc-123" "$(header x-request-id)"
line=$(access_log_has "abc-123") || line=""
check_contains "access log line has the client's request id" "abc-123" "$line"
check_contains "access log line has the method" "GET" "$line"
check_contains "access log line has the status" "200" "$line"

http -H 'X-Request-ID: has spaces in it' "$B/healthz"
rid=$(header x-request-id)
check_match "X-Request-ID with spaces is replaced by 32 hex" '^[0-9a-f]{32}$' "$rid"

long=$(printf 'a%.0s' $(seq 1 200))
http -H "X-Request-ID: $long" "$B/healthz"
check_match "X-Request-ID of 200 chars is replaced by 32 hex" '^[0-9a-f]{32}$' "$(header x-request-id)"

http "$B/v1/posts/2"
rid=$(header x-request-id)
check_match "no X-Request-ID sent: 32 hex generated" '^[0-9a-f]{32}$' "$rid"
# the id is forwarded upstream, so the demo upstream's line (GET /posts/2) carries it too
line=$(access_log_has "GET /v1/posts/2 ") || line=""
check_contains "access log line has the generated request id" "$rid" "$line"
check_contains "access log line has the path" "/v1/posts/2" "$line"
upline=$(access_log_has "GET /posts/2 ") || upline=""
check_contains "the upstream call carried the same request id" "$rid" "$upline"

http "$B/v1/posts/3"
rid2=$(header x-request-id)
if [ -n "$rid2" ] && [ "$rid2" != "$rid" ]; then ok "generated request ids differ"; else notok "generated request ids differ" "two different ids" "'$rid' and '$rid2'"; fi

http "$B/no/such/path"
check_match "404 answers carry X-Request-ID too" '^[0-9a-f]{32}$' "$(header x-request-id)"
http -H 'X-Request-ID: abc-123' "$B/v1/posts/999"
check_eq "error answers echo X-Request-ID" "abc-123" "$(header x-request-id)"

# ---------------------------------------------------------------- the demo upstream, directly
D=http://127.0.0.1:$DEMO
http "$D/posts/1"
check_code "demo GET /posts/1" 200
check_json "demo GET /posts/1 is post 1" 'd["id"] == 1 and d["userId"] == 1 and set(d) >= {"title", "body"}'
http "$D/posts/1000"
check_code "demo GET /posts/1000" 404
check_json_eq "demo GET /posts/1000 body" '{}'
http "$D/posts?userId=1"
check_code "demo GET /posts?userId=1" 200
check_json "demo GET /posts?userId=1: 10 items of user 1" 'len(d) == 10 and all(p["userId"] == 1 for p in d)'
http "$D/users/1/todos"
check_code "demo GET /users/1/todos" 200
check_json "demo GET /users/1/todos: 20 items" 'len(d) == 20 and all(t["userId"] == 1 for t in d)'
http "$D/users"
check_json "demo GET /users: 10 users" 'len(d) == 10'
http "$D/comments"
check_json "demo GET /comments: 500 comments" 'len(d) == 500'
http "$D/albums"
check_json "demo GET /albums: 100 albums" 'len(d) == 100'
http "$D/photos"
check_json "demo GET /photos: 5000 photos" 'len(d) == 5000'
http "$D/todos"
check_json "demo GET /todos: 200 todos" 'len(d) == 200'
http -X POST -H 'Content-Type: application/json' --data '{"title":"x","body":"y","userId":1}' "$D/posts"
check_code "demo POST /posts" 201
check_json "demo POST /posts answers the object with id 101" \
    'd.get("id") == 101 and d.get("title") == "x" and d.get("body") == "y" and d.get("userId") == 1'

# ---------------------------------------------------------------- environment overrides
# A second server: H2API_LISTEN moves it, H2API_UPSTREAM_URL points it at the first server's demo
# upstream (its own config has a closed port and the demo disabled).
PORT2=$(free_port)
DEAD=$(free_port)
write_conf "$T/env.yaml" "$(free_port)" "http://127.0.0.1:$DEAD"
H2API_LISTEN=127.0.0.1:$PORT2 H2API_UPSTREAM_URL=$D H2API_WORKERS=1 H2API_LOG_LEVEL=warn \
    start_server "$T/env.yaml" "$PORT2" env
rc=$?
check_eq "H2API_LISTEN: the server listens where the environment says" 0 "$rc"
if [ "$rc" = 0 ]; then
    http "http://127.0.0.1:$PORT2/v1/posts/5"
    check_code "H2API_UPSTREAM_URL: GET /v1/posts/5 reaches the demo upstream" 200
    check_json "H2API_UPSTREAM_URL: post 5" 'd["id"] == 5'
    stop_pid "$SERVER_PID"
fi
H2API_WORKERS=banana "$H2API_BIN" -c "$T/env.yaml" >/dev/null 2>"$T/envbad.err" </dev/null &
pid=$!
track_pid "$pid"
wait_exit "$pid" 5
check_match "H2API_WORKERS=banana: the server refuses to start" '^[1-9][0-9]*$' "$EXIT_STATUS"
check_contains "H2API_WORKERS=banana: the message names the variable" "H2API_WORKERS" "$(cat "$T/envbad.err")"

finish
