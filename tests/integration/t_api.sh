#!/bin/bash
# The example API routes against the embedded demo upstream: the overview aggregate, the
# two-stage post details, the validated POST /v1/posts and POST /v1/todos/bulk (pydantic-shaped
# 422s), and the streaming /proxy (byte-for-byte pass-through, methods and bodies, hop-by-hop and
# forwarding headers, path escapes, a 20 MB body, back-pressure against a slow reader), plus the
# bulk concurrency bound measured by a peer that counts requests in flight.
# Expected values come from the demo upstream itself (fetched directly on its own port) or from
# the peers, never hard-coded.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

PORT=$(free_port)
DEMO=$(free_port)
CONF_MAX_BODY=64k write_api_conf "$T/h2api.yaml" "$PORT" "http://127.0.0.1:$DEMO" "$DEMO"
start_server "$T/h2api.yaml" "$PORT" || bail "server becomes ready" "/readyz 200 within 10 s" "no"
ok "server with the demo upstream becomes ready"
MAIN_PID=$SERVER_PID
B=http://127.0.0.1:$PORT
D=http://127.0.0.1:$DEMO

# fetch UPSTREAM_PATH FILE: the demo upstream's own answer, saved for comparisons.
fetch() {
    local code
    code=$(curl -s --noproxy '*' --max-time 10 -o "$2" -w '%{http_code}' "$D$1")
    [ "$code" = 200 ] || notok "demo GET $1 (expected data source)" "status 200" "status $code"
}

# ---------------------------------------------------------------- GET /v1/users/{id}/overview
for uid in 1 7; do
    fetch "/users/$uid" "$T/u$uid.user.json"
    fetch "/posts?userId=$uid" "$T/u$uid.posts.json"
    fetch "/todos?userId=$uid" "$T/u$uid.todos.json"
    fetch "/albums?userId=$uid" "$T/u$uid.albums.json"
    check_json_file "demo has posts, todos and albums for user $uid (the comparison is not vacuous)" "$T/u$uid.posts.json" 'len(d) > 0'
    check_json_file "demo todos of user $uid non-empty" "$T/u$uid.todos.json" 'len(d) > 0'
    check_json_file "demo albums of user $uid non-empty" "$T/u$uid.albums.json" 'len(d) > 0'

    http "$B/v1/users/$uid/overview"
    check_code "overview $uid: 200" 200
    check_json_ct "overview $uid: JSON content-type"
    check_eq "overview $uid: X-Aggregate-Completed" "true" "$(header x-aggregate-completed)"
    check_json "overview $uid: exactly the keys user, posts, todos, albums" \
        'isinstance(d, dict) and sorted(d) == ["albums", "posts", "todos", "user"]'
    check_json_with "overview $uid: user is upstream /users/$uid" 'd["user"] == e[0]' "$T/u$uid.user.json"
    check_json_with "overview $uid: posts are upstream /posts?userId=$uid" 'd["posts"] == e[0]' "$T/u$uid.posts.json"
    check_json_with "overview $uid: todos are upstream /todos?userId=$uid" 'd["todos"] == e[0]' "$T/u$uid.todos.json"
    check_json_with "overview $uid: albums are upstream /albums?userId=$uid" 'd["albums"] == e[0]' "$T/u$uid.albums.json"
done

http --http2-prior-knowledge "$B/v1/users/1/overview"
check_code "overview over h2c: 200" 200
check_eq "overview over h2c: HTTP/2" 2 "$R_VER"
check_json_with "overview over h2c: same document" \
    'd == {"user": e[0], "posts": e[1], "todos": e[2], "albums": e[3]}' \
    "$T/u1.user.json" "$T/u1.posts.json" "$T/u1.todos.json" "$T/u1.albums.json"
check_eq "overview over h2c: X-Aggregate-Completed" "true" "$(header x-aggregate-completed)"

NUSERS=$(curl -s --noproxy '*' --max-time 10 "$D/users" | "$PY" -c 'import json, sys; print(max(u["id"] for u in json.load(sys.stdin)))')
MISSING_USER=$((NUSERS + 989))
http "$B/v1/users/$MISSING_USER/overview"
check_code "overview of a missing user ($MISSING_USER): 404" 404
check_json_ct "overview of a missing user: JSON content-type"
check_json_eq "overview of a missing user: body" '{"detail":"User not found"}'
check_eq "overview of a missing user: no X-Aggregate-Completed" "" "$(header x-aggregate-completed)"

http "$B/v1/users/abc/overview"
check_code "overview of user abc: 422" 422
check_json "overview of user abc: int_parsing at path.user_id" \
    'd["detail"][0]["type"] == "int_parsing" and d["detail"][0]["loc"] == ["path", "user_id"] and d["detail"][0]["input"] == "abc"'

# ---------------------------------------------------------------- GET /v1/posts/{id}/details
for pid in 1 57; do
    fetch "/posts/$pid" "$T/p$pid.json"
    fetch "/posts/$pid/comments" "$T/p$pid.comments.json"
    author=$(json_get "$T/p$pid.json" 'd["userId"]')
    fetch "/users/$author" "$T/p$pid.author.json"
    check_json_file "demo post $pid has comments (the comparison is not vacuous)" "$T/p$pid.comments.json" 'len(d) > 0'

    http "$B/v1/posts/$pid/details"
    check_code "details $pid: 200" 200
    check_json_ct "details $pid: JSON content-type"
    check_json "details $pid: exactly the keys post, comments, author" \
        'isinstance(d, dict) and sorted(d) == ["author", "comments", "post"]'
    check_json_with "details $pid: post is upstream /posts/$pid" 'd["post"] == e[0]' "$T/p$pid.json"
    check_json_with "details $pid: comments are upstream /posts/$pid/comments" 'd["comments"] == e[0]' "$T/p$pid.comments.json"
    check_json_with "details $pid: author is upstream /users/$author (post.userId)" 'd["author"] == e[0]' "$T/p$pid.author.json"
done

NPOSTS=$(curl -s --noproxy '*' --max-time 10 "$D/posts" | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')
http "$B/v1/posts/$((NPOSTS + 899))/details"
check_code "details of a missing post: 404" 404
check_json_ct "details of a missing post: JSON content-type"
check_json_eq "details of a missing post: body" '{"detail":"Post not found"}'

http --http2-prior-knowledge "$B/v1/posts/1/details"
check_code "details over h2c: 200" 200
check_json_with "details over h2c: same document" 'd == {"post": e[0], "comments": e[1], "author": e[2]}' \
    "$T/p1.json" "$T/p1.comments.json" "$T/p1.author.json"

# ---------------------------------------------------------------- POST /v1/posts
# post_json BODY [curl options...]: POST /v1/posts with BODY.
post_json() {
    local b=$1
    shift
    http -X POST -H 'Content-Type: application/json' --data-binary "$b" "$@" "$B/v1/posts"
}

# The demo answers id = number of posts + 1, as jsonplaceholder does.
NEXT_POST_ID=$((NPOSTS + 1))
post_json '{"title":"hello","body":"world","userId":1}'
check_code "POST /v1/posts: 201" 201
check_json_ct "POST /v1/posts: JSON content-type"
check_json_eq "POST /v1/posts: the upstream's created object (id $NEXT_POST_ID)" \
    "{\"title\":\"hello\",\"body\":\"world\",\"userId\":1,\"id\":$NEXT_POST_ID}"

post_json '{"title":"t","body":"b","userId":2,"extra":"ignored","id":55}'
check_code "POST /v1/posts with unknown fields: 201" 201
check_json_eq "POST /v1/posts: unknown fields are not forwarded" \
    "{\"title\":\"t\",\"body\":\"b\",\"userId\":2,\"id\":$NEXT_POST_ID}"

post_json '{"title":"t","body":"b","userId":"3"}'
check_code "POST /v1/posts userId \"3\" (lax): 201" 201
check_json "POST /v1/posts userId \"3\": coerced to the integer 3" 'd["userId"] == 3 and type(d["userId"]) is int'

post_json '{"title":"","body":"b","userId":1}'
check_code "POST /v1/posts empty title: 422" 422
check_json_ct "POST /v1/posts 422: JSON content-type"
check_json_eq "POST /v1/posts empty title: string_too_short" \
    '{"detail":[{"type":"string_too_short","loc":["body","title"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}}]}'

post_json '{"body":"b","userId":1}'
check_code "POST /v1/posts no title: 422" 422
check_json_eq "POST /v1/posts no title: missing, input is the whole object" \
    '{"detail":[{"type":"missing","loc":["body","title"],"msg":"Field required","input":{"body":"b","userId":1}}]}'

post_json '{"title":5,"body":"b","userId":1}'
check_code "POST /v1/posts title 5: 422" 422
check_json_eq "POST /v1/posts title 5: string_type" \
    '{"detail":[{"type":"string_type","loc":["body","title"],"msg":"Input should be a valid string","input":5}]}'

post_json '{"title":"t","body":"b","userId":"abc"}'
check_code "POST /v1/posts userId \"abc\": 422" 422
check_json_eq "POST /v1/posts userId \"abc\": int_parsing" \
    '{"detail":[{"type":"int_parsing","loc":["body","userId"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}'

post_json '{"title":"t","body":"b","userId":1.5}'
check_code "POST /v1/posts userId 1.5: 422" 422
check_json_eq "POST /v1/posts userId 1.5: int_from_float" \
    '{"detail":[{"type":"int_from_float","loc":["body","userId"],"msg":"Input should be a valid integer, got a number with a fractional part","input":1.5}]}'

post_json '{"title":"t","body":"b","userId":0}'
check_code "POST /v1/posts userId 0: 422" 422
check_json_eq "POST /v1/posts userId 0: greater_than_equal" \
    '{"detail":[{"type":"greater_than_equal","loc":["body","userId"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}]}'

post_json '{"title":"","userId":0}'
check_code "POST /v1/posts with three errors: 422" 422
check_json "POST /v1/posts: all three errors reported, in field order" \
    '[(e["type"], e["loc"]) for e in d["detail"]] == [("string_too_short", ["body", "title"]), ("missing", ["body", "body"]), ("greater_than_equal", ["body", "userId"])]'

for nonobj in '[1]' '"text"' '42'; do
    post_json "$nonobj"
    check_code "POST /v1/posts body $nonobj: 422" 422
    check_json_with "POST /v1/posts body $nonobj: model_attributes_type at [body]" \
        'd == {"detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": "Input should be a valid dictionary or object to extract fields from", "input": e[0]}]}' \
        <(printf '%s' "$nonobj")
done

# json_invalid: the offset is the one FastAPI reports (Python's JSONDecodeError.pos).
for bad in '{"title":' '{"title": x}' '{"a":1,}' '[1,2' '[1,]' '{"title":"t"} x'; do
    printf '%s' "$bad" >"$T/bad.json"
    pos=$("$PY" -c 'import json, sys
try:
    json.loads(open(sys.argv[1]).read())
except json.JSONDecodeError as e:
    print(e.pos)' "$T/bad.json")
    post_json "$bad"
    check_code "POST /v1/posts malformed $bad: 422" 422
    check_json "POST /v1/posts malformed $bad: json_invalid shape" \
        'len(d["detail"]) == 1 and d["detail"][0]["type"] == "json_invalid" and d["detail"][0]["msg"] == "JSON decode error" and d["detail"][0]["input"] == {} and isinstance(d["detail"][0]["ctx"]["error"], str) and d["detail"][0]["ctx"]["error"] != ""'
    check_json "POST /v1/posts malformed $bad: loc [body, $pos] (Python's offset)" "d['detail'][0]['loc'] == ['body', $pos]"
done

# FastAPI: an empty body, or JSON null, for a required body model is "missing" at ["body"],
# input null (fastapi.dependencies.utils: a None value is a missing field).
http -X POST -H 'Content-Type: application/json' "$B/v1/posts"
check_code "POST /v1/posts empty body: 422" 422
check_json_eq "POST /v1/posts empty body: missing at [body] (as FastAPI)" \
    '{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}'
post_json 'null'
check_code "POST /v1/posts body null: 422" 422
check_json_eq "POST /v1/posts body null: missing at [body] (as FastAPI)" \
    '{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}'

head -c 70000 /dev/zero | tr '\0' 'a' | "$PY" -c 'import json, sys; print(json.dumps({"title": sys.stdin.read(), "body": "b", "userId": 1}))' >"$T/big.json"
http -X POST -H 'Content-Type: application/json' --data-binary @"$T/big.json" "$B/v1/posts"
check_detail "POST /v1/posts over max_body_bytes (64k)" 413

post_json '{"title":"h2","body":"b","userId":4}' --http2-prior-knowledge
check_code "POST /v1/posts over h2c: 201" 201
check_json "POST /v1/posts over h2c: created" "d == {'title': 'h2', 'body': 'b', 'userId': 4, 'id': $NEXT_POST_ID}"

# ---------------------------------------------------------------- POST /v1/todos/bulk (demo)
NTODOS=$(curl -s --noproxy '*' --max-time 10 "$D/todos" | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')
bulk() { http -X POST -H 'Content-Type: application/json' --data-binary "$1" "$B/v1/todos/bulk"; }

bulk '[{"title":"a","userId":1,"completed":"yes"},{"title":"b","userId":2,"completed":"no"},{"title":"c","userId":3,"completed":0},{"title":"d","userId":4,"completed":1},{"title":"e","userId":"5"}]'
check_code "bulk of 5: 200" 200
check_json_ct "bulk: JSON content-type"
check_json "bulk of 5: all successful, none failed" 'len(d["successful"]) == 5 and d["failed"] == []'
check_json "bulk of 5: completed coerced (yes/no/0/1, default false), userId coerced, upstream id $((NTODOS + 1))" \
    "d['successful'] == [{'title': t, 'userId': u, 'completed': c, 'id': $((NTODOS + 1))} for t, u, c in [('a', 1, True), ('b', 2, False), ('c', 3, False), ('d', 4, True), ('e', 5, False)]]"

"$PY" -c 'import json; print(json.dumps([{"title": "t%d" % i, "userId": 1 + i % 10} for i in range(100)]))' >"$T/b100.json"
"$PY" -c 'import json; print(json.dumps([{"title": "t%d" % i, "userId": 1} for i in range(101)]))' >"$T/b101.json"
bulk "@$T/b100.json"
check_code "bulk of 100 (the maximum): 200" 200
check_json "bulk of 100: 100 successful in order" \
    'len(d["successful"]) == 100 and [s["title"] for s in d["successful"]] == ["t%d" % i for i in range(100)] and d["failed"] == []'

bulk "@$T/b101.json"
check_code "bulk of 101: 422" 422
check_json "bulk of 101: too_long at [body]" \
    'len(d["detail"]) == 1 and d["detail"][0]["type"] == "too_long" and d["detail"][0]["loc"] == ["body"] and d["detail"][0]["msg"] == "List should have at most 100 items after validation, not 101" and d["detail"][0]["ctx"] == {"field_type": "List", "max_length": 100, "actual_length": 101}'

bulk '[]'
check_code "bulk of 0: 422" 422
check_json_eq "bulk of 0: too_short" \
    '{"detail":[{"type":"too_short","loc":["body"],"msg":"List should have at least 1 item after validation, not 0","input":[],"ctx":{"field_type":"List","min_length":1,"actual_length":0}}]}'

bulk '[{"title":"ok","userId":1},{"title":"ok","userId":1},{"title":"","userId":1},{"userId":0,"completed":"maybe"}]'
check_code "bulk with invalid items: 422" 422
check_json "bulk with invalid items: each error located by index" \
    '[(e["type"], e["loc"]) for e in d["detail"]] == [("string_too_short", ["body", 2, "title"]), ("missing", ["body", 3, "title"]), ("greater_than_equal", ["body", 3, "userId"]), ("bool_parsing", ["body", 3, "completed"])]'

bulk '{"title":"a","userId":1}'
check_code "bulk of an object: 422" 422
check_json "bulk of an object: list_type at [body]" 'd["detail"][0]["type"] == "list_type" and d["detail"][0]["loc"] == ["body"]'

bulk '[1,'
check_code "bulk malformed JSON: 422" 422
check_json "bulk malformed JSON: json_invalid" 'd["detail"][0]["type"] == "json_invalid" and d["detail"][0]["loc"][0] == "body"'

# ---------------------------------------------------------------- /proxy against the demo
# byte-for-byte: the demo's own answer and the proxied one
for p in /posts/1 "/posts?userId=2" /users/3 /comments; do
    curl -s --noproxy '*' --max-time 10 -o "$T/direct.out" "$D$p"
    http "$B/proxy$p"
    check_code "proxy GET $p: 200" 200
    if cmp -s "$T/direct.out" "$R_BODY"; then ok "proxy GET $p: body equals the upstream's byte for byte"; else
        notok "proxy GET $p: body equals the upstream's byte for byte" "$(wc -c <"$T/direct.out") bytes, sha $(sha256_of "$T/direct.out")" "$(wc -c <"$R_BODY") bytes, sha $(sha256_of "$R_BODY")"
    fi
done
http "$B/proxy/posts?userId=2"
check_json "proxy GET /posts?userId=2: the query reached the upstream (only user 2)" 'len(d) > 0 and all(p["userId"] == 2 for p in d)'
check_eq "proxy: Via on the response" "1.1 h2api" "$(header via)"

curl -s --noproxy '*' --max-time 10 -o "$T/direct.out" "$D/posts/1"
http --http2-prior-knowledge "$B/proxy/posts/1"
check_code "proxy over h2c: 200" 200
if cmp -s "$T/direct.out" "$R_BODY"; then ok "proxy over h2c: byte for byte"; else notok "proxy over h2c: byte for byte" "$(cat "$T/direct.out")" "$(body)"; fi

http "$B/proxy/posts/$((NPOSTS + 899))"
check_code "proxy of an upstream 404: 404 passed through" 404
check_json_eq "proxy of an upstream 404: the upstream's body" '{}'

for m in POST PUT PATCH; do
    case $m in POST) p=/posts ;; *) p=/posts/1 ;; esac
    data="{\"title\":\"via-$m\",\"userId\":9}"
    curl -s --noproxy '*' --max-time 10 -X "$m" -H 'Content-Type: application/json' --data-binary "$data" \
        -o "$T/direct.out" -w '%{http_code}' "$D$p" >"$T/direct.code"
    http -X "$m" -H 'Content-Type: application/json' --data-binary "$data" "$B/proxy$p"
    check_code "proxy $m $p: the upstream's status" "$(cat "$T/direct.code")"
    if cmp -s "$T/direct.out" "$R_BODY"; then ok "proxy $m $p: the upstream's body"; else notok "proxy $m $p: the upstream's body" "$(cat "$T/direct.out")" "$(body)"; fi
    check_json "proxy $m $p: the request body reached the upstream" "d.get('title') == 'via-$m'"
done
http -X DELETE "$B/proxy/posts/1"
check_code "proxy DELETE /posts/1: 200" 200
check_json_eq "proxy DELETE /posts/1: {}" '{}'

# ---------------------------------------------------------------- /proxy against an echo peer
cat >"$T/echo-rules.json" <<'EOF'
[
 {"path": "/echo.*", "echo": true,
  "headers": [["Connection", "close, X-Hop"], ["X-Hop", "1"], ["Keep-Alive", "timeout=5"], ["X-End", "1"]]},
 {"path": "/echo2.*", "echo": true},
 {"path": "/big-cl", "big": {"bytes": 20000000, "chunk": 65536, "sleep": 0.002}},
 {"path": "/big-chunked", "big": {"bytes": 20000000, "chunk": 65536, "sleep": 0.002, "chunked": true}},
 {"path": "/big-slow", "big": {"bytes": 64000000, "chunk": 65536}}
]
EOF
start_api_peer "@$T/echo-rules.json" || bail "echo peer starts" "a listening peer" "none"
ECHO_PORT=$API_PEER_PORT
ECHO_LOG=$API_PEER_LOG
PPORT=$(free_port)
CONF_TIMEOUT_MS=10000 write_api_conf "$T/proxy.yaml" "$PPORT" "http://127.0.0.1:$ECHO_PORT"
start_server "$T/proxy.yaml" "$PPORT" proxy || bail "proxy server becomes ready" "ready" "no"
PROXY_PID=$SERVER_PID
P=http://127.0.0.1:$PPORT

# the headers the peer got: a list of [name, value]; hdr(n) is the value (or None)
HDR='(lambda n: next((v for k, v in d["headers"] if k.lower() == n), None))'

http -H 'Connection: x-secret' -H 'X-Secret: s3cr3t' -H 'TE: trailers' -H 'Upgrade: websocket' \
    -H 'Keep-Alive: timeout=99' -H 'Proxy-Connection: keep-alive' -H 'X-Forwarded-For: 203.0.113.7' \
    -H 'X-Request-ID: proxy-rid-1' -H 'X-Custom: kept' "$P/proxy/echo/a/b?x=1&y=%2F"
check_code "proxy to the echo peer: 200" 200
check_json "proxy: the upstream got the path and the query as sent" 'd["path"] == "/echo/a/b?x=1&y=%2F" and d["method"] == "GET"'
check_json "proxy: Connection not forwarded" "$HDR('connection') is None"
check_json "proxy: X-Secret (named by the client's Connection) not forwarded" "$HDR('x-secret') is None"
check_json "proxy: TE not forwarded" "$HDR('te') is None"
check_json "proxy: Upgrade not forwarded" "$HDR('upgrade') is None"
check_json "proxy: Keep-Alive not forwarded" "$HDR('keep-alive') is None"
check_json "proxy: Proxy-Connection not forwarded" "$HDR('proxy-connection') is None"
check_json "proxy: end-to-end X-Custom forwarded" "$HDR('x-custom') == 'kept'"
check_json "proxy: X-Forwarded-For appended to the client's" "$HDR('x-forwarded-for') == '203.0.113.7, 127.0.0.1'"
check_json "proxy: X-Forwarded-Proto http" "$HDR('x-forwarded-proto') == 'http'"
check_json "proxy: X-Forwarded-Host is the client's Host" "$HDR('x-forwarded-host') == '127.0.0.1:$PPORT'"
check_json "proxy: Via added" "$HDR('via') == '1.1 h2api'"
check_json "proxy: X-Request-ID forwarded" "$HDR('x-request-id') == 'proxy-rid-1'"
check_json "proxy: Host is the upstream's" "$HDR('host') == '127.0.0.1:$ECHO_PORT'"
check_eq "proxy response: X-Request-ID echoed" "proxy-rid-1" "$(header x-request-id)"
check_eq "proxy response: end-to-end X-End kept" "1" "$(header x-end)"
check_eq "proxy response: X-Hop (named by the upstream's Connection) removed" "" "$(header x-hop)"
check_eq "proxy response: Keep-Alive removed" "" "$(header keep-alive)"
check_match "proxy response: Connection is the server's own" '^(keep-alive|close|)$' "$(header connection | tr '[:upper:]' '[:lower:]')"
check_eq "proxy response: Via added" "1.1 h2api" "$(header via)"

# Connection tokens are case-insensitive (RFC 9110 section 7.6.1)
http -H 'Connection: X-Secret' -H 'X-Secret: s3cr3t' "$P/proxy/echo2"
check_json "proxy: X-Secret named as 'Connection: X-Secret' (mixed case) not forwarded" "$HDR('x-secret') is None"

http "$P/proxy/echo2"
check_json "proxy: without a client X-Forwarded-For, it is the client address" "$HDR('x-forwarded-for') == '127.0.0.1'"
check_json "proxy: a generated X-Request-ID is forwarded" "re.fullmatch('[0-9a-f]{32}', $HDR('x-request-id') or '') is not None"
rid=$(header x-request-id)
check_json "proxy: the forwarded X-Request-ID is the one answered" "$HDR('x-request-id') == '$rid'"

http --http2-prior-knowledge -H 'X-Forwarded-For: 198.51.100.1' "$P/proxy/echo2"
check_code "proxy over h2c to the echo peer: 200" 200
check_json "proxy over h2c: Via 2 h2api" "$HDR('via') == '2 h2api'"
check_json "proxy over h2c: X-Forwarded-For appended" "$HDR('x-forwarded-for') == '198.51.100.1, 127.0.0.1'"
check_json "proxy over h2c: X-Forwarded-Host is the :authority" "$HDR('x-forwarded-host') == '127.0.0.1:$PPORT'"

printf '{"k":"%s"}' "$(head -c 3000 /dev/zero | tr '\0' 'z')" >"$T/pbody.json"
for m in POST PUT PATCH DELETE; do
    http -X "$m" -H 'Content-Type: application/json' --data-binary @"$T/pbody.json" "$P/proxy/echo2/$m?q=1"
    check_code "proxy $m with a body: 200" 200
    check_json_with "proxy $m: method, path and body arrive" "d['method'] == '$m' and d['path'] == '/echo2/$m?q=1' and d['body'] == json.dumps(e[0], separators=(',', ':'))" "$T/pbody.json"
    check_json "proxy $m: Content-Type and Content-Length forwarded" \
        "$HDR('content-type') == 'application/json' and $HDR('content-length') == '$(wc -c <"$T/pbody.json")'"
done

head -c 1100000 /dev/zero >"$T/toobig.bin"
http -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$T/toobig.bin" "$P/proxy/echo2/big"
check_detail "proxy: a body over max_body_bytes (1m)" 413
rm -f "$T/toobig.bin"

# path escapes: 400 JSON, and nothing reaches the upstream
before=$(grep -c '^REQ' "$ECHO_LOG")
for p in '/proxy/%2e%2e/x' '/proxy/a/../b' '/proxy//evil.example/x' '/proxy/a%5cb' '/proxy/%2F%2Fevil.example/x' \
    '/proxy/%5C%5Cevil.example/x' '/proxy/.%2E/x' '/proxy/a/..%2Fb' '/proxy/a%2F..%2F..%2Fb' '/proxy/..'; do
    http --path-as-is "$P$p"
    check_detail "proxy path escape $p" 400
done
after=$(grep -c '^REQ' "$ECHO_LOG")
check_eq "proxy path escapes: no request reached the upstream" "$before" "$after"

# a large streamed body, Content-Length and chunked, intact
for kind in cl chunked; do
    curl -s --noproxy '*' --max-time 20 -o "$T/big-direct.$kind" "http://127.0.0.1:$ECHO_PORT/big-$kind"
    CURL_MAX_TIME=20 http "$P/proxy/big-$kind"
    check_code "proxy 20 MB ($kind): 200" 200
    check_eq "proxy 20 MB ($kind): size" "$(wc -c <"$T/big-direct.$kind")" "$(wc -c <"$R_BODY")"
    check_eq "proxy 20 MB ($kind): sha256 equal to the upstream's" "$(sha256_of "$T/big-direct.$kind")" "$(sha256_of "$R_BODY")"
    if [ "$kind" = cl ]; then
        check_eq "proxy 20 MB (cl): Content-Length passed through" 20000000 "$(header content-length)"
    else
        check_eq "proxy 20 MB (chunked): no Content-Length made up" "" "$(header content-length)"
    fi
    rm -f "$R_BODY"
done
CURL_MAX_TIME=20 http --http2-prior-knowledge "$P/proxy/big-chunked"
check_eq "proxy 20 MB chunked over h2c: sha256" "$(sha256_of "$T/big-direct.chunked")" "$(sha256_of "$R_BODY")"
rm -f "$R_BODY" "$T"/big-direct.*

# back-pressure: a client reading 64 KiB per 100 ms for ~4 s must not make the server buffer
# a 64 MB body (more than the socket buffers on both sides hold): RSS grows by less than 10 MB.
out=$("$PY" -c 'import socket, sys, time
port, path, pid, secs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
def rss():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(2)
s.connect(("127.0.0.1", port))
base = rss()
s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
got, peak = 0, base
end = time.monotonic() + secs
try:
    while time.monotonic() < end:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
        peak = max(peak, rss())
        time.sleep(0.1)
except OSError:
    pass
peak = max(peak, rss())
s.close()
print(got, peak - base)' "$PPORT" /proxy/big-slow "$PROXY_PID" 4 2>&1)
read -r got growth <<<"$out"
check_match "slow reader: read some of the body" '^[1-9][0-9]*$' "${got:-}"
check_lt "slow reader: read less than the whole body (the client really was slow)" 64000000 "${got:-20000000}"
check_lt "slow reader: server RSS growth (kB) < 10 MB" 10240 "${growth:-999999}"
n=$(peer_log_wait "$ECHO_LOG" '^BIG_ABORT /big-slow' 1 3)
check_eq "slow reader gone: the upstream connection is closed (peer's write fails)" 1 "$n"
http "$P/healthz"
check_code "proxy server still serves after the slow reader" 200
stop_pid "$PROXY_PID"

# ---------------------------------------------------------------- bulk concurrency bound
cat >"$T/todo-rules.json" <<'EOF'
[{"method": "POST", "path": "/todos", "delay": 0.2, "create": true, "first_id": 1000}]
EOF
start_api_peer "@$T/todo-rules.json" || bail "todos peer starts" "a listening peer" "none"
TODO_PORT=$API_PEER_PORT
"$PY" -c 'import json; print(json.dumps([{"title": "c%d" % i, "userId": 1 + i, "completed": i % 2 == 0} for i in range(12)]))' >"$T/b12.json"

for conc in 3 default; do
    port=$(free_port)
    if [ "$conc" = default ]; then want=5; CONF_BULK=; else want=$conc; CONF_BULK=$conc; fi
    CONF_BULK=$CONF_BULK write_api_conf "$T/bulk-$conc.yaml" "$port" "http://127.0.0.1:$TODO_PORT"
    start_server "$T/bulk-$conc.yaml" "$port" "bulk-$conc" || { notok "bulk server ($conc) becomes ready" "ready" "no"; continue; }
    curl -s --noproxy '*' --max-time 5 -X POST "http://127.0.0.1:$TODO_PORT/__reset" >/dev/null
    http -X POST -H 'Content-Type: application/json' --data-binary "@$T/b12.json" "http://127.0.0.1:$port/v1/todos/bulk"
    check_code "bulk_concurrency $conc: 12 items, 200" 200
    check_json_with "bulk_concurrency $conc: 12 successful, each the item plus an upstream id, in item order" \
        'd["failed"] == [] and [{k: v for k, v in s.items() if k != "id"} for s in d["successful"]] == e[0] and len(set(s["id"] for s in d["successful"])) == 12' \
        "$T/b12.json"
    curl -s --noproxy '*' --max-time 5 -o "$T/stats.json" "http://127.0.0.1:$TODO_PORT/__stats"
    check_json_file "bulk_concurrency $conc: the peer got 12 requests" "$T/stats.json" 'd["requests"] == 12'
    check_json_file "bulk_concurrency $conc: the peer saw at most $want in flight, and more than 1" "$T/stats.json" \
        "d['max_inflight'] == $want"
    # 12 items, 0.2 s each, $want at a time: at least ceil(12/$want) rounds
    check_lt "bulk_concurrency $conc: took more than ceil(12/$want) x 0.2 s (bounded, not all at once)" "$R_TIME" \
        "$("$PY" -c "import math; print(math.ceil(12 / $want) * 0.2 - 0.05)")"
    stop_pid "$SERVER_PID"
done

if kill -0 "$MAIN_PID" 2>/dev/null; then ok "main server still running"; else notok "main server still running" "running" "exited"; fi
finish
