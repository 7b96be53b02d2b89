#!/bin/bash
# FastAPI / Starlette behaviours h2api matches (issue 12, item 6), each checked against the
# source of current FastAPI (fastapi/routing.py get_request_handler) and Starlette
# (starlette/routing.py Router, redirect_slashes; Route.handle's 405):
#   - a JSON body model parses the body as JSON only for Content-Type application/json or
#     application/*+json, or no Content-Type at all; any other type is validated as the raw
#     text, so a model answers 422 model_attributes_type and a list answers 422 list_type (a
#     browser form post, which needs no CORS preflight, creates nothing);
#   - a path that matches no route but would with its trailing slash toggled answers 307 to it,
#     the query string kept (Starlette's redirect_slashes), with an empty body;
#   - /healthz and /readyz answer a wrong method 405 with Allow, like every route;
#   - an HTTP/2 request with an empty :path is malformed (RFC 9113 §8.3.1) and gets a stream
#     error PROTOCOL_ERROR (RST_STREAM, §8.1.1), the connection going on.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin
require_python_h2

PORT=$(free_port)
DEMO=$(free_port)
write_api_conf "$T/h2api.yaml" "$PORT" "http://127.0.0.1:$DEMO" "$DEMO"
start_server "$T/h2api.yaml" "$PORT" || bail "server becomes ready" "/readyz 200 within 10 s" "no"
ok "server with the demo upstream becomes ready"
B=http://127.0.0.1:$PORT
POST='{"title":"t","body":"b","userId":1}'

# ---------------------------------------------------------------- the body's Content-Type
for ct in 'text/plain' 'application/x-www-form-urlencoded' 'multipart/form-data; boundary=x' 'application/jsonx' \
    'text/json'; do
    http -X POST -H "Content-Type: $ct" --data-binary "$POST" "$B/v1/posts"
    check_code "POST /v1/posts as $ct: 422" 422
    check_json_ct "POST /v1/posts as $ct: JSON content-type"
    check_json_eq "POST /v1/posts as $ct: the body is validated as text (model_attributes_type, input the raw body)" \
        "{\"detail\":[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid dictionary or object to extract fields from\",\"input\":$("$PY" -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$POST")}]}"
done

# a browser's form post: curl -d sends application/x-www-form-urlencoded
http -d 'title=t&body=b&userId=1' "$B/v1/posts"
check_code "POST /v1/posts as an HTML form would (curl -d): 422" 422
check_json_eq "POST /v1/posts as a form: model_attributes_type with the form's text" \
    '{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"title=t&body=b&userId=1"}]}'

http -X POST -H 'Content-Type: text/plain' --data-binary '[{"title":"t","userId":1}]' "$B/v1/todos/bulk"
check_code "POST /v1/todos/bulk as text/plain: 422" 422
check_json_eq "POST /v1/todos/bulk as text/plain: list_type, input the raw body" \
    '{"detail":[{"type":"list_type","loc":["body"],"msg":"Input should be a valid list","input":"[{\"title\":\"t\",\"userId\":1}]"}]}'

for ct in 'application/json' 'application/json; charset=utf-8' 'Application/JSON' 'application/merge-patch+json' \
    'application/vnd.api+json'; do
    http -X POST -H "Content-Type: $ct" --data-binary "$POST" "$B/v1/posts"
    check_code "POST /v1/posts as $ct: parsed as JSON, 201" 201
done
http -X POST -H 'Content-Type:' --data-binary "$POST" "$B/v1/posts"
check_code "POST /v1/posts with no Content-Type at all: parsed as JSON, 201" 201
check_json "the last one was forwarded: the upstream's created object" 'd["title"] == "t" and d["userId"] == 1 and "id" in d'

http -X POST -H 'Content-Type: text/plain' "$B/v1/posts"
check_code "POST /v1/posts as text/plain with no body: 422" 422
check_json_eq "POST /v1/posts with no body: missing, whatever the type (FastAPI reads no body)" \
    '{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}'

# ---------------------------------------------------------------- redirect_slashes
http "$B/v1/posts/"
check_code "GET /v1/posts/: 307" 307
check_eq "GET /v1/posts/: Location is /v1/posts on the same host" "$B/v1/posts" "$(header location)"
check_eq "GET /v1/posts/: empty body" 0 "$(wc -c <"$R_BODY")"
check_eq "GET /v1/posts/: Content-Length 0" 0 "$(header content-length)"

http "$B/v1/posts/1/?x=1&y=a%20b"
check_code "GET /v1/posts/1/?query: 307" 307
check_eq "GET /v1/posts/1/?query: the query string is kept" "$B/v1/posts/1?x=1&y=a%20b" "$(header location)"

http -X POST -H 'Content-Type: application/json' --data-binary "$POST" "$B/v1/posts/"
check_code "POST /v1/posts/: 307 (the method is kept by the client)" 307
check_eq "POST /v1/posts/: Location /v1/posts" "$B/v1/posts" "$(header location)"

http --http2-prior-knowledge "$B/v1/users/1/overview/"
check_code "GET /v1/users/1/overview/ over h2c: 307" 307
check_eq "over h2c: Location built from :authority" "$B/v1/users/1/overview" "$(header location)"

http -L "$B/v1/posts/1/"
check_code "curl -L follows /v1/posts/1/ to the post: 200" 200
check_json "curl -L: the post with id 1" 'd["id"] == 1'

# the other way round: "/proxy/{path:path}" matches "/proxy/" (an empty path parameter, as
# Starlette's path convertor), so the bare "/proxy" is redirected to it
http "$B/proxy?a=1"
check_code "GET /proxy?a=1: 307 (the route's pattern has the slash)" 307
check_eq "GET /proxy?a=1: Location /proxy/?a=1" "$B/proxy/?a=1" "$(header location)"

# a path that matches nothing either way stays 404
http "$B/v1/nothing/"
check_code "GET /v1/nothing/: no route either way, 404" 404
check_json_eq "GET /v1/nothing/: FastAPI's body" '{"detail":"Not Found"}'
http "$B/v1/posts/abc/"
check_code "GET /v1/posts/abc/: /v1/posts/abc matches a route but its parameter does not: 307 (Starlette matches paths first)" 307
http -X DELETE "$B/v1/posts"
check_code "DELETE /v1/posts: 405 wins over a redirect" 405

# ---------------------------------------------------------------- /healthz and /readyz
for p in /healthz /readyz; do
    for m in DELETE POST PUT PATCH; do
        http -X "$m" "$B$p"
        check_code "$m $p: 405" 405
        check_eq "$m $p: Allow" "GET, HEAD" "$(header allow)"
        check_json_eq "$m $p: FastAPI's body" '{"detail":"Method Not Allowed"}'
    done
    http -I "$B$p"
    check_code "HEAD $p: 200" 200
    http "$B$p"
    check_code "GET $p: 200" 200
done
http "$B/healthz/"
check_code "GET /healthz/: 307 to /healthz" 307
check_eq "GET /healthz/: Location" "$B/healthz" "$(header location)"

# ---------------------------------------------------------------- HTTP/2 with an empty :path
"$PY" "$PEERS_DIR/h2_request.py" "$PORT" "" "/healthz" >"$T/empty_path.json" 2>&1
check_json_file "h2 empty :path: the stream is reset with PROTOCOL_ERROR (1), no answer" "$T/empty_path.json" \
    'd["requests"][0] == {"path": "", "status": None, "reset": 1}'
check_json_file "h2 empty :path: the connection goes on (the next stream is answered 200, no GOAWAY)" "$T/empty_path.json" \
    'd["requests"][1]["status"] == 200 and d["goaway"] is None'
"$PY" "$PEERS_DIR/h2_request.py" "$PORT" "/healthz" >"$T/healthz_path.json" 2>&1
check_json_file "h2 :path /healthz through the same client: 200 (the peer is sound)" "$T/healthz_path.json" \
    'd["requests"][0]["status"] == 200 and d["requests"][0]["reset"] is None'

http "$B/healthz"
check_code "server still answers after all of it" 200
finish
