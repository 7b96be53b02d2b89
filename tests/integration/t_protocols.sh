#!/bin/bash
# The same routes over HTTP/1.1, h2c (prior knowledge and Upgrade), TLS with ALPN h2 and
# http/1.1, TLS 1.1 refused, an IPv6 listener, and h2load runs over h2c, HTTP/1.1 and TLS.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 \
    -keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.log" 2>&1 ||
    bail "self-signed certificate generated" "openssl req exit 0" "$(shorten "$(cat "$T/openssl.log")")"

PORT=$(free_port)
TLSPORT=$(free_port)
DEMO=$(free_port)
CONF_LISTEN_EXTRA="  - {address: \"127.0.0.1:$TLSPORT\", tls: {cert: \"$T/cert.pem\", key: \"$T/key.pem\"}}"
PORT6=
if have_ipv6_lo; then
    PORT6=$(free_port6)
    CONF_LISTEN_EXTRA="$CONF_LISTEN_EXTRA
  - \"[::1]:$PORT6\""
fi
write_conf "$T/h2api.yaml" "$PORT" "http://127.0.0.1:$DEMO" "$DEMO"
start_server "$T/h2api.yaml" "$PORT" || bail "server becomes ready" "/readyz 200 within 10 s" "no"
ok "server becomes ready"

ROOT='{"message":"Welcome to the API Wrapper Example","versions":{"v1":"/v1"}}'

# same_routes LABEL BASE_URL EXPECTED_HTTP_VERSION CURL_OPTIONS...
same_routes() {
    local label=$1 base=$2 ver=$3
    shift 3
    http "$@" "$base/"
    check_code "$label: GET /" 200
    check_eq "$label: GET / went over HTTP/$ver" "$ver" "$R_VER"
    check_json_eq "$label: GET / body" "$ROOT"
    http "$@" "$base/v1/posts/1"
    check_code "$label: GET /v1/posts/1" 200
    check_json "$label: GET /v1/posts/1 has id 1" 'd["id"] == 1'
    http "$@" "$base/v1/users/1/posts"
    check_code "$label: GET /v1/users/1/posts" 200
    check_eq "$label: GET /v1/users/1/posts went over HTTP/$ver" "$ver" "$R_VER"
    check_json "$label: GET /v1/users/1/posts all userId 1" 'len(d) == 10 and all(p["userId"] == 1 for p in d)'
    http "$@" "$base/v1/posts"
    check_json "$label: GET /v1/posts has 100 posts" 'len(d) == 100'
    http "$@" "$base/v1/posts/999"
    check_code "$label: GET /v1/posts/999" 404
    check_json_eq "$label: GET /v1/posts/999 body" '{"detail":"Post not found"}'
    http "$@" -H 'X-Request-ID: abc-123' "$base/nope"
    check_code "$label: unknown path" 404
    check_eq "$label: X-Request-ID echoed" "abc-123" "$(header x-request-id)"
}

same_routes "HTTP/1.1" "http://127.0.0.1:$PORT" 1.1 --http1.1
same_routes "h2c prior knowledge" "http://127.0.0.1:$PORT" 2 --http2-prior-knowledge
same_routes "h2c Upgrade" "http://127.0.0.1:$PORT" 2 --http2
same_routes "TLS ALPN h2" "https://127.0.0.1:$TLSPORT" 2 -k --http2
same_routes "TLS HTTP/1.1" "https://127.0.0.1:$TLSPORT" 1.1 -k --http1.1
http --cacert "$T/cert.pem" --resolve "localhost:$TLSPORT:127.0.0.1" "https://localhost:$TLSPORT/healthz"
check_code "TLS: the certificate we configured is the one served (verified with --cacert)" 200

# ---------------------------------------------------------------- TLS versions and ALPN
s_client() { # PORT OPTIONS... -> prints the transcript, returns openssl's status
    local port=$1
    shift
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost "$@" </dev/null 2>&1
}
out=$(s_client "$TLSPORT" -tls1_2)
check_eq "TLS 1.2 handshake succeeds" 0 "$?"
out=$(s_client "$TLSPORT" -tls1_3)
check_eq "TLS 1.3 handshake succeeds" 0 "$?"
out=$(s_client "$TLSPORT" -alpn h2)
check_contains "ALPN h2 is selected" "ALPN protocol: h2" "$out"
out=$(s_client "$TLSPORT" -alpn http/1.1)
check_contains "ALPN http/1.1 is selected" "ALPN protocol: http/1.1" "$out"

# Control: prove this openssl client can speak TLS 1.1 at all (SECLEVEL=0 lifts Debian's
# floor), against openssl's own server, so that the refusal below means something.
CTLPORT=$(free_port)
openssl s_server -accept "127.0.0.1:$CTLPORT" -cert "$T/cert.pem" -key "$T/key.pem" \
    -cipher 'DEFAULT@SECLEVEL=0' -tls1_1 -www </dev/null >"$T/s_server.log" 2>&1 &
ctl=$!
track_pid "$ctl"
client_can_tls11=no
if wait_port 127.0.0.1 "$CTLPORT" 5 &&
    s_client "$CTLPORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' >/dev/null; then
    client_can_tls11=yes
fi
stop_pid "$ctl"
if [ "$client_can_tls11" = yes ]; then
    out=$(s_client "$TLSPORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0')
    rc=$?
    if [ "$rc" != 0 ]; then ok "TLS 1.1 is refused"; else notok "TLS 1.1 is refused" "handshake failure" "$(shorten "$(grep -E 'Protocol|Cipher is' <<<"$out")")"; fi
else
    out=$(s_client "$TLSPORT" -tls1_1)
    rc=$?
    if [ "$rc" != 0 ]; then ok "TLS 1.1 is refused # client could not offer TLS 1.1 either"; else notok "TLS 1.1 is refused" "handshake failure" "success"; fi
fi

# ---------------------------------------------------------------- IPv6
if [ -n "$PORT6" ]; then
    same_routes "IPv6 [::1]" "http://[::1]:$PORT6" 1.1 -g --http1.1
    same_routes "IPv6 [::1] h2c" "http://[::1]:$PORT6" 2 -g --http2-prior-knowledge
else
    echo "# SKIP IPv6: no ::1 on lo"
fi

# ---------------------------------------------------------------- load
# h2load_check LABEL N H2LOAD_ARGS...: all N requests succeed with 2xx, none failed or errored.
# A server that died in an earlier run is reported and restarted, so each run counts on its own.
h2load_check() {
    local label=$1 n=$2 out line
    shift 2
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        wait "$SERVER_PID" 2>/dev/null
        notok "$label: server alive before the run" "running" "exited with status $? ($(shorten "$(grep -v '\[info\]' "$SERVER_ERR" | tail -2)"))"
        start_server "$T/h2api.yaml" "$PORT" "restart$R_SEQ" || bail "$label: server restarts" "ready" "no"
    fi
    out=$(timeout 30 h2load "$@" 2>&1)
    line=$(grep -E '^requests:' <<<"$out")
    check_contains "$label: $n succeeded" "$n succeeded" "$line"
    check_match "$label: 0 failed, 0 errored, 0 timeout" ' 0 failed, 0 errored, 0 timeout' "$line"
    check_contains "$label: all 2xx" "status codes: $n 2xx" "$out"
}
h2load_check "h2load h2c" 2000 -n 2000 -c 20 -m 10 "http://127.0.0.1:$PORT/v1/posts/1"
h2load_check "h2load HTTP/1.1" 2000 --h1 -n 2000 -c 20 "http://127.0.0.1:$PORT/v1/posts/1"
h2load_check "h2load TLS h2" 1000 -n 1000 -c 10 -m 10 "https://127.0.0.1:$TLSPORT/v1/posts/1"
h2load_check "h2load h2c GET /" 2000 -n 2000 -c 20 -m 10 "http://127.0.0.1:$PORT/"

http "http://127.0.0.1:$PORT/healthz"
check_code "after the load: /healthz" 200
if kill -0 "$SERVER_PID" 2>/dev/null; then ok "server still running"; else
    wait "$SERVER_PID" 2>/dev/null
    notok "server still running" "running" "exited with status $? ($(shorten "$(grep -v '\[info\]' "$SERVER_ERR" | tail -2)"))"
fi

finish
