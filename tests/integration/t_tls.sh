#!/bin/bash
# TLS policy of the listeners (issue 6, "TLS"): TLS 1.2 and 1.3 only, no weak cipher suites,
# ALPN h2 and http/1.1, and plain requests over TLS. Two TLS listeners, one with an RSA and one
# with an ECDSA self-signed certificate made here, are checked three ways:
#   - sslscan (protocols, every suite it can offer, renegotiation, Heartbleed);
#   - hand-made ClientHellos from python (SSLv3, TLS 1.0, TLS 1.1, and TLS 1.2 offering only weak
#     suites), which do not depend on what the local OpenSSL is willing to offer;
#   - openssl s_client (versions, ALPN) and curl (GET over h2 and HTTP/1.1).
# Controls: the same scanner and probes against `openssl s_server` configured to accept
# everything, so that a refusal from h2api means something; what no client here can offer
# (SSLv3 from OpenSSL 3, RC4/3DES/EXPORT from sslscan) is said in a comment on its line.
# Skips (77) without sslscan, unless H2API_REQUIRE_PEERS=1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

if ! command -v sslscan >/dev/null 2>&1; then
    if [ "${H2API_REQUIRE_PEERS:-0}" = 1 ]; then
        bail "peer available" "sslscan" "missing (H2API_REQUIRE_PEERS=1)"
    fi
    skip_all "sslscan not found (apt-get install -y sslscan)"
fi
command -v openssl >/dev/null 2>&1 || bail "openssl available" "openssl" "missing"

# ---------------------------------------------------------------- certificates and server

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 1 \
    -keyout "$T/rsa.key" -out "$T/rsa.pem" >"$T/openssl.log" 2>&1 ||
    bail "RSA test certificate generated" "openssl req exit 0" "$(shorten "$(cat "$T/openssl.log")")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 \
    -keyout "$T/ec.key" -out "$T/ec.pem" >>"$T/openssl.log" 2>&1 ||
    bail "ECDSA test certificate generated" "openssl req exit 0" "$(shorten "$(cat "$T/openssl.log")")"

PORT=$(free_port)
RSAPORT=$(free_port)
ECPORT=$(free_port)
DEMO=$(free_port)
CONF_LISTEN_EXTRA="  - {address: \"127.0.0.1:$RSAPORT\", tls: {cert: \"$T/rsa.pem\", key: \"$T/rsa.key\"}}
  - {address: \"127.0.0.1:$ECPORT\", tls: {cert: \"$T/ec.pem\", key: \"$T/ec.key\"}}"
write_conf "$T/h2api.yaml" "$PORT" "http://127.0.0.1:$DEMO" "$DEMO"
start_server "$T/h2api.yaml" "$PORT" || bail "server becomes ready" "/readyz 200 within 10 s" "no"
if ! wait_port 127.0.0.1 "$RSAPORT" 5 || ! wait_port 127.0.0.1 "$ECPORT" 5; then
    bail "TLS listeners accept connections" "ports $RSAPORT and $ECPORT open" "closed"
fi
ok "server with an RSA and an ECDSA TLS listener becomes ready"

# ---------------------------------------------------------------- helpers

# s_client PORT OPTIONS...: one handshake; prints the transcript, returns openssl's status.
s_client() {
    local port=$1
    shift
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost "$@" </dev/null 2>&1
}

# scan PORT OUTFILE: sslscan without colours into OUTFILE.
scan() {
    timeout 30 sslscan --no-colour --sni-name=localhost "127.0.0.1:$1" >"$2" 2>&1
}

# scan_protocol FILE NAME: prints "enabled" or "disabled" from sslscan's protocol table.
scan_protocol() {
    awk -v p="$2" '$1 == p && ($2 == "enabled" || $2 == "disabled") { print $2; exit }' "$1"
}

# scan_suites FILE: prints "VERSION SUITE" for each accepted suite.
scan_suites() {
    awk '$1 == "Accepted" || $1 == "Preferred" { print $2, $5 }' "$1"
}

# weak_class SUITE: prints why an OpenSSL/IANA suite name is weak, or nothing.
weak_class() {
    case $1 in
    TLS_AES_* | TLS_CHACHA20_*) ;; # the TLS 1.3 suites: all AEAD with forward secrecy
    *RC4*) echo RC4 ;;
    *3DES* | *DES-CBC* | *-DES-* | DES-*) echo 3DES/DES ;;
    *NULL*) echo NULL ;;
    EXP* | *-EXP*) echo EXPORT ;;
    ADH-* | AECDH-* | *-anon-* | *_anon_*) echo anonymous ;;
    *MD5*) echo MD5 ;;
    *-SHA) echo CBC-SHA1 ;;
    *) ;;
    esac
}

# probe PORT VERSION SUITES: sends one hand-made ClientHello (record and hello version VERSION,
# e.g. 0300 for SSLv3, 0303 for TLS 1.2; SUITES a comma list of hex ids) and prints what came
# back: "accepted VERSION SUITE" (a ServerHello), "alert DESCRIPTION", "closed" or "error ...".
probe() {
    "$PY" - "$@" <<'EOF'
import os, socket, struct, sys
port, ver = int(sys.argv[1]), int(sys.argv[2], 16)
suites = [int(x, 16) for x in sys.argv[3].split(",")]
def ext(t, data):
    return struct.pack("!HH", t, len(data)) + data
def u16list(xs):
    return struct.pack("!H", 2 * len(xs)) + b"".join(struct.pack("!H", x) for x in xs)
name = b"localhost"
exts = ext(0x0000, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)   # server_name
exts += ext(0x000a, u16list([0x001d, 0x0017, 0x0018]))                       # supported_groups
exts += ext(0x000b, b"\x01\x00")                                             # ec_point_formats
exts += ext(0x000d, u16list([0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501, 0x0201, 0x0203]))
exts += ext(0xff01, b"\x00")                                                 # renegotiation_info
body = struct.pack("!H", ver) + os.urandom(32) + b"\x00" + u16list(suites) + b"\x01\x00"
if ver > 0x0300:
    body += struct.pack("!H", len(exts)) + exts    # SSLv3 hellos carry no extensions
hello = b"\x01" + struct.pack("!I", len(body))[1:] + body
record = b"\x16" + struct.pack("!HH", min(ver, 0x0301), len(hello)) + hello
def recv_exact(s, n):
    out = b""
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            return None
        out += b
    return out
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(record)
    head = recv_exact(s, 5)
    if head is None:
        print("closed"); sys.exit(0)
    ctype, _, length = struct.unpack("!BHH", head)
    payload = recv_exact(s, length) or b""
    if ctype == 0x15 and len(payload) >= 2:
        print("alert %d" % payload[1])
    elif ctype == 0x16 and len(payload) >= 39 and payload[0] == 0x02:
        sver = struct.unpack("!H", payload[4:6])[0]
        sid_len = payload[38]
        suite = struct.unpack("!H", payload[39 + sid_len:41 + sid_len])[0]
        print("accepted %04x %04x" % (sver, suite))
    else:
        print("error: record type %d" % ctype)
except (ConnectionResetError, BrokenPipeError):
    print("closed")
except OSError as e:
    print("error: %s" % e)
EOF
}

# check_refused NAME PROBE_RESULT: the probe got an alert or a closed connection, not a
# ServerHello (a failed connect, or anything else, is not a refusal).
check_refused() {
    if [[ $2 == alert* || $2 == closed ]]; then ok "$1 ($2)"; else notok "$1" "alert or close" "$2"; fi
}

# Suites no server should pick: RC4, 3DES/DES, NULL, EXPORT, anonymous, and CBC with SHA-1
# (RFC 7465, RFC 8996 and the IANA registry; ids from https://www.iana.org/assignments/tls-parameters).
WEAK_SUITES=0004,0005,c011,c007,c002,c00c,0018 # RC4 (RSA, ECDHE, ECDH, anon)
WEAK_SUITES=$WEAK_SUITES,000a,0016,0013,c012,c008,001b,0009,0015 # 3DES and DES
WEAK_SUITES=$WEAK_SUITES,0001,0002,003b,c010,c006,c001,c015 # NULL
WEAK_SUITES=$WEAK_SUITES,0003,0006,0008,0014,0011,0017,0019 # EXPORT
WEAK_SUITES=$WEAK_SUITES,0034,003a,006c,006d,00a6,00a7,c018,c019,c017 # anonymous DH / ECDH
WEAK_SUITES=$WEAK_SUITES,002f,0035,0033,0039,c013,c014,c009,c00a # CBC with SHA-1
GOOD_SUITES=c02f,c030,c02b,c02c,cca8,cca9 # ECDHE with AES-GCM / ChaCha20-Poly1305
OLD_SUITES=c013,c014,c009,c00a,002f,0035 # what a TLS 1.0/1.1 client offers (ECDHE/RSA CBC-SHA1)

# ---------------------------------------------------------------- controls

# An OpenSSL server that accepts every version and suite it has: the scanner and the probes must
# see weak things there, or their silence about h2api proves nothing.
CTLPORT=$(free_port)
openssl s_server -accept "127.0.0.1:$CTLPORT" -cert "$T/rsa.pem" -key "$T/rsa.key" \
    -cipher 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' -min_protocol TLSv1 -www </dev/null >"$T/s_server.log" 2>&1 &
ctl=$!
track_pid "$ctl"
ctl_scan=no ctl_tls10=no ctl_weak12=no ctl_sclient=no
declare -A scanner_sees=()
if wait_port 127.0.0.1 "$CTLPORT" 5; then
    scan "$CTLPORT" "$T/scan.control"
    [ "$(scan_protocol "$T/scan.control" TLSv1.0)" = enabled ] && ctl_scan=yes
    while read -r _ suite; do
        c=$(weak_class "$suite")
        [ -n "$c" ] && scanner_sees[$c]=1
    done < <(scan_suites "$T/scan.control")
    [[ $(probe "$CTLPORT" 0301 "$OLD_SUITES") == accepted* ]] && ctl_tls10=yes
    [[ $(probe "$CTLPORT" 0303 "$WEAK_SUITES") == accepted* ]] && ctl_weak12=yes
    s_client "$CTLPORT" -tls1 -cipher 'DEFAULT@SECLEVEL=0' >/dev/null && ctl_sclient=yes
fi
stop_pid "$ctl"
sees="${!scanner_sees[*]}"
echo "# controls against openssl s_server (accepts everything): sslscan sees TLS 1.0: $ctl_scan;" \
    "weak classes sslscan can offer: ${sees:-none}; probe TLS 1.0 accepted: $ctl_tls10;" \
    "probe weak TLS 1.2 accepted: $ctl_weak12; s_client -tls1 (SECLEVEL=0) connects: $ctl_sclient"
check_eq "control: sslscan detects TLS 1.0 on a server that allows it" yes "$ctl_scan"
check_eq "control: the TLS 1.0 ClientHello probe is accepted by a server that allows it" yes "$ctl_tls10"
check_eq "control: the weak-suite ClientHello probe is accepted by a server that allows it" yes "$ctl_weak12"
check_eq "control: s_client -tls1 with SECLEVEL=0 connects to a server that allows it" yes "$ctl_sclient"

# ---------------------------------------------------------------- per listener

check_listener() { # LABEL PORT
    local label=$1 port=$2 scanfile=$T/scan.$1 p state weak="" nonaead="" suite ver c r out
    scan "$port" "$scanfile" || true
    if ! grep -q 'SSL/TLS Protocols:' "$scanfile"; then
        notok "$label: sslscan completes" "a protocol table" "$(shorten "$(head -5 "$scanfile")")"
        return
    fi
    ok "$label: sslscan completes"

    # protocols, as sslscan saw them
    for p in TLSv1.2 TLSv1.3; do
        check_eq "$label: sslscan: $p enabled" enabled "$(scan_protocol "$scanfile" "$p")"
    done
    for p in TLSv1.0 TLSv1.1; do
        check_eq "$label: sslscan: $p disabled" disabled "$(scan_protocol "$scanfile" "$p")"
    done
    for p in SSLv2 SSLv3; do
        state=$(scan_protocol "$scanfile" "$p")
        if [ "$state" = disabled ]; then
            ok "$label: sslscan: $p disabled # the scanner's OpenSSL 3 cannot offer $p: not a measurement, see the probes"
        else
            notok "$label: sslscan: $p disabled" disabled "$state"
        fi
    done

    # suites, as sslscan saw them
    while read -r ver suite; do
        c=$(weak_class "$suite")
        [ -n "$c" ] && weak="$weak $ver/$suite($c)"
        case $suite in
        TLS_AES_* | TLS_CHACHA20_* | ECDHE-*-GCM-* | ECDHE-*-CHACHA20-* | DHE-*-GCM-* | DHE-*-CHACHA20-*) ;;
        *) nonaead="$nonaead $ver/$suite" ;;
        esac
    done < <(scan_suites "$scanfile")
    check_eq "$label: sslscan: no weak suite accepted (RC4, 3DES, NULL, EXPORT, anonymous, MD5, CBC-SHA1)" "" "${weak# }"
    check_eq "$label: sslscan: only forward-secret AEAD suites accepted" "" "${nonaead# }"
    check_match "$label: sslscan: TLS 1.3 suites accepted" 'TLSv1\.3 TLS_' "$(scan_suites "$scanfile")"
    echo "# $label suites: $(scan_suites "$scanfile" | tr '\n' ',' | sed 's/,$//')"
    if grep -qi 'insecure session renegotiation supported' "$scanfile"; then
        notok "$label: sslscan: no insecure renegotiation" "not supported" "supported"
    else
        ok "$label: sslscan: no insecure renegotiation"
    fi
    if grep -E 'heartbleed' "$scanfile" | grep -qv 'not vulnerable'; then
        notok "$label: sslscan: not vulnerable to Heartbleed" "not vulnerable" "$(grep -i heartbleed "$scanfile" | tr '\n' ';')"
    else
        ok "$label: sslscan: not vulnerable to Heartbleed"
    fi

    # hand-made ClientHellos
    check_refused "$label: SSLv3 ClientHello refused" "$(probe "$port" 0300 "$OLD_SUITES,000a,0005")"
    check_refused "$label: TLS 1.0 ClientHello refused" "$(probe "$port" 0301 "$OLD_SUITES")"
    check_refused "$label: TLS 1.1 ClientHello refused" "$(probe "$port" 0302 "$OLD_SUITES")"
    check_refused "$label: TLS 1.2 ClientHello with only weak suites refused" "$(probe "$port" 0303 "$WEAK_SUITES")"
    r=$(probe "$port" 0303 "$GOOD_SUITES")
    check_match "$label: TLS 1.2 ClientHello with ECDHE AEAD suites accepted" '^accepted 0303 (c02f|c030|c02b|c02c|cca8|cca9)$' "$r"

    # openssl s_client: versions and ALPN
    out=$(s_client "$port" -tls1_2)
    check_eq "$label: s_client TLS 1.2 handshake succeeds" 0 "$?"
    out=$(s_client "$port" -tls1_3)
    check_eq "$label: s_client TLS 1.3 handshake succeeds" 0 "$?"
    check_match "$label: s_client TLS 1.3 negotiated" 'New, TLSv1\.3, Cipher is TLS_' "$out"
    for p in tls1 tls1_1; do
        if ! out=$(s_client "$port" "-$p" -cipher 'DEFAULT@SECLEVEL=0'); then
            ok "$label: s_client -$p refused"
        else
            notok "$label: s_client -$p refused" "handshake failure" "$(shorten "$(grep -E 'Protocol|Cipher is' <<<"$out")")"
        fi
    done
    out=$(s_client "$port" -alpn h2)
    check_contains "$label: ALPN h2 selected" "ALPN protocol: h2" "$out"
    out=$(s_client "$port" -alpn http/1.1)
    check_contains "$label: ALPN http/1.1 selected" "ALPN protocol: http/1.1" "$out"
    out=$(s_client "$port" -alpn 'http/1.1,h2')
    check_contains "$label: ALPN offers both: the server picks h2" "ALPN protocol: h2" "$out"

    # requests
    http -k --http2 "https://127.0.0.1:$port/"
    check_code "$label: GET / over TLS h2" 200
    check_eq "$label: GET / went over HTTP/2" 2 "$R_VER"
    http -k --http1.1 "https://127.0.0.1:$port/v1/posts/1"
    check_code "$label: GET /v1/posts/1 over TLS HTTP/1.1" 200
    check_eq "$label: GET /v1/posts/1 went over HTTP/1.1" 1.1 "$R_VER"
    check_json "$label: GET /v1/posts/1 has id 1" 'd["id"] == 1'
}

check_listener RSA "$RSAPORT"
check_listener ECDSA "$ECPORT"

http --cacert "$T/rsa.pem" --resolve "localhost:$RSAPORT:127.0.0.1" "https://localhost:$RSAPORT/healthz"
check_code "RSA: certificate verifies against the test CA (curl --cacert)" 200

if kill -0 "$SERVER_PID" 2>/dev/null; then ok "server still running"; else
    wait "$SERVER_PID" 2>/dev/null
    notok "server still running" "running" "exited with status $? ($(shorten "$(grep -v '\[info\]' "$SERVER_ERR" | tail -2)"))"
fi

finish
