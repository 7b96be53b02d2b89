#!/bin/bash
# The example API routes (overview aggregate, post details, POST /v1/posts, bulk todos, /proxy)
# against json-server 0.17.4 serving the real jsonplaceholder dataset, with the demo upstream
# disabled. Expected values are computed from data.json; json-server's own answers (fetched
# directly) are the reference for the byte-for-byte proxy checks.
# Skips (77) when json-server is not installed, unless H2API_REQUIRE_PEERS=1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

start_json_server
J=http://127.0.0.1:$JPORT

PORT=$(free_port)
CONF_TIMEOUT_MS=5000 write_api_conf "$T/h2api.yaml" "$PORT" "$J"
start_server "$T/h2api.yaml" "$PORT" || bail "server becomes ready" "/readyz 200 within 10 s" "no"
ok "server becomes ready (upstream: json-server)"
B=http://127.0.0.1:$PORT

# expect EXPR FILE: writes the value of the Python expression EXPR over the dataset `db` to FILE.
expect() {
    "$PY" -c 'import json, sys
db = json.load(open(sys.argv[1]))
json.dump(eval(sys.argv[2], {"db": db}), open(sys.argv[3], "w"))' "$DATA" "$1" "$2"
}
by_id() { printf '[x for x in db["%s"] if x["id"] == %s][0]' "$1" "$2"; }

# ---------------------------------------------------------------- overview
for uid in 1 4 10; do
    expect "$(by_id users "$uid")" "$T/u.json"
    expect "[p for p in db['posts'] if p['userId'] == $uid]" "$T/posts.json"
    expect "[t for t in db['todos'] if t['userId'] == $uid]" "$T/todos.json"
    expect "[a for a in db['albums'] if a['userId'] == $uid]" "$T/albums.json"
    check_json_file "dataset: user $uid has posts, todos and albums (the comparison is not vacuous)" "$T/posts.json" 'len(d) > 0'
    http "$B/v1/users/$uid/overview"
    check_code "overview $uid: 200" 200
    check_json_ct "overview $uid: JSON content-type"
    check_eq "overview $uid: X-Aggregate-Completed" true "$(header x-aggregate-completed)"
    check_json_with "overview $uid: user, posts, todos and albums as in the dataset, nothing else" \
        'd == {"user": e[0], "posts": e[1], "todos": e[2], "albums": e[3]}' "$T/u.json" "$T/posts.json" "$T/todos.json" "$T/albums.json"
done
MISSING_USER=$("$PY" -c 'import json, sys; print(max(u["id"] for u in json.load(open(sys.argv[1]))["users"]) + 989)' "$DATA")
http "$B/v1/users/$MISSING_USER/overview"
check_code "overview of a missing user: 404" 404
check_json_eq "overview of a missing user: body" '{"detail":"User not found"}'

# ---------------------------------------------------------------- details
for pid in 1 42 100; do
    expect "$(by_id posts "$pid")" "$T/p.json"
    expect "[c for c in db['comments'] if c['postId'] == $pid]" "$T/c.json"
    expect "[u for u in db['users'] if u['id'] == $(by_id posts "$pid")['userId']][0]" "$T/a.json"
    http "$B/v1/posts/$pid/details"
    check_code "details $pid: 200" 200
    check_json_with "details $pid: post, its comments and its author as in the dataset" \
        'd == {"post": e[0], "comments": e[1], "author": e[2]}' "$T/p.json" "$T/c.json" "$T/a.json"
    check_json "details $pid: the comments are not empty" 'len(d["comments"]) > 0'
done
NEXT_POST=$("$PY" -c 'import json, sys; print(max(p["id"] for p in json.load(open(sys.argv[1]))["posts"]) + 1)' "$DATA")
http "$B/v1/posts/$((NEXT_POST + 898))/details"
check_code "details of a missing post: 404" 404
check_json_eq "details of a missing post: body" '{"detail":"Post not found"}'

# ---------------------------------------------------------------- concurrency through the aggregate
out=$(timeout 20 h2load -n 100 -c 4 -m 4 "$B/v1/users/2/overview" 2>&1)
check_contains "h2load 100 overviews through json-server: 100 succeeded" "100 succeeded" "$(grep -E '^requests:' <<<"$out")"
check_contains "h2load 100 overviews: all 2xx" "status codes: 100 2xx" "$out"

# ---------------------------------------------------------------- /proxy (read-only first)
for p in /posts/1 "/posts?userId=2" /users /comments?postId=3 /albums/5/photos; do
    curl -s --noproxy '*' --max-time 10 -o "$T/direct.out" "$J$p"
    http "$B/proxy$p"
    check_code "proxy GET $p: 200" 200
    if cmp -s "$T/direct.out" "$R_BODY"; then ok "proxy GET $p: json-server's body byte for byte"; else
        notok "proxy GET $p: json-server's body byte for byte" "$(wc -c <"$T/direct.out") bytes" "$(wc -c <"$R_BODY") bytes"
    fi
    check_eq "proxy GET $p: json-server's Keep-Alive is not passed on" "" "$(header keep-alive)"
    check_eq "proxy GET $p: X-Powered-By (end-to-end) is passed on" "Express" "$(header x-powered-by)"
done
http "$B/proxy/posts?userId=2"
check_json_with "proxy GET /posts?userId=2: the query reached json-server" 'd == e[0]' \
    <("$PY" -c 'import json, sys; print(json.dumps([p for p in json.load(open(sys.argv[1]))["posts"] if p["userId"] == 2]))' "$DATA")

# gzip from json-server (compression middleware, chunked) streams through unchanged
curl -s --noproxy '*' --max-time 10 --compressed -H 'Accept-Encoding: gzip' -o "$T/direct.gz.out" "$J/photos"
http --compressed -H 'Accept-Encoding: gzip' "$B/proxy/photos"
check_code "proxy GET /photos gzip: 200" 200
check_eq "proxy GET /photos gzip: Content-Encoding passed on" gzip "$(header content-encoding)"
if cmp -s "$T/direct.gz.out" "$R_BODY"; then ok "proxy GET /photos gzip: same content after decoding"; else
    notok "proxy GET /photos gzip: same content after decoding" "$(wc -c <"$T/direct.gz.out") bytes" "$(wc -c <"$R_BODY") bytes"
fi

http "$B/proxy/posts/$((NEXT_POST + 898))"
check_code "proxy of json-server's 404: 404" 404

# ---------------------------------------------------------------- writes: POST /v1/posts, bulk, proxy
http -X POST -H 'Content-Type: application/json' --data '{"title":"from h2api","body":"b","userId":"3","junk":1}' "$B/v1/posts"
check_code "POST /v1/posts: 201" 201
check_json_eq "POST /v1/posts: json-server's created object, next id $NEXT_POST" \
    "{\"title\":\"from h2api\",\"body\":\"b\",\"userId\":3,\"id\":$NEXT_POST}"
http "$J/posts/$NEXT_POST"
check_json_eq "POST /v1/posts: json-server stored it as validated (coerced, unknown field dropped)" \
    "{\"title\":\"from h2api\",\"body\":\"b\",\"userId\":3,\"id\":$NEXT_POST}"

http -X POST -H 'Content-Type: application/json' --data '{"title":"","body":1}' "$B/v1/posts"
check_code "POST /v1/posts invalid: 422" 422
http "$J/posts/$((NEXT_POST + 1))"
check_code "POST /v1/posts invalid: nothing reached json-server" 404

NEXT_TODO=$("$PY" -c 'import json, sys; print(max(t["id"] for t in json.load(open(sys.argv[1]))["todos"]) + 1)' "$DATA")
"$PY" -c 'import json; print(json.dumps([{"title": "bulk %d" % i, "userId": 1 + i, "completed": ["yes", "no", 1, 0, True, False, "on"][i]} for i in range(7)]))' >"$T/bulk.json"
http -X POST -H 'Content-Type: application/json' --data-binary "@$T/bulk.json" "$B/v1/todos/bulk"
check_code "bulk of 7: 200" 200
check_json "bulk of 7: all successful" 'len(d["successful"]) == 7 and d["failed"] == []'
check_json "bulk of 7: titles in item order, completed coerced" \
    '[(s["title"], s["completed"]) for s in d["successful"]] == [("bulk %d" % i, c) for i, c in enumerate([True, False, True, False, True, False, True])]'
check_json "bulk of 7: json-server's ids $NEXT_TODO..$((NEXT_TODO + 6)), one each" \
    "sorted(s['id'] for s in d['successful']) == list(range($NEXT_TODO, $((NEXT_TODO + 7))))"
cp "$R_BODY" "$T/bulk.out"
http "$J/todos?title_like=%5Ebulk"
check_json_with "bulk of 7: json-server stored the 7 todos as answered" \
    'sorted(d, key=lambda t: t["id"]) == sorted(e[0]["successful"], key=lambda t: t["id"])' "$T/bulk.out"

# proxy writes, checked against json-server's state
http -X POST -H 'Content-Type: application/json' --data '{"title":"via proxy","userId":1}' "$B/proxy/posts"
check_code "proxy POST /posts: 201" 201
PROXY_ID=$(json_get "$R_BODY" 'd["id"]')
check_eq "proxy POST /posts: json-server's next id" "$((NEXT_POST + 1))" "$PROXY_ID"
check_match "proxy POST /posts: Location passed on" "/posts/$PROXY_ID\$" "$(header location)"
http -X PUT -H 'Content-Type: application/json' --data '{"title":"put","body":"x","userId":2}' "$B/proxy/posts/$PROXY_ID"
check_code "proxy PUT: 200" 200
http -X PATCH -H 'Content-Type: application/json' --data '{"title":"patched"}' "$B/proxy/posts/$PROXY_ID"
check_code "proxy PATCH: 200" 200
http "$J/posts/$PROXY_ID"
check_json_eq "proxy PUT then PATCH: json-server's state" "{\"title\":\"patched\",\"body\":\"x\",\"userId\":2,\"id\":$PROXY_ID}"
http -X DELETE "$B/proxy/posts/$PROXY_ID"
check_code "proxy DELETE: 200" 200
http "$J/posts/$PROXY_ID"
check_code "proxy DELETE: gone from json-server" 404
http --http2-prior-knowledge -X DELETE "$B/proxy/posts/$NEXT_POST"
check_code "proxy DELETE over h2c: 200" 200
http "$J/posts/$NEXT_POST"
check_code "proxy DELETE over h2c: gone from json-server" 404

http "$B/healthz"
check_code "server still serves" 200
finish
