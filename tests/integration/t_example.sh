#!/bin/bash
# The installed library: `make install` into a temporary DESTDIR (the core static and shared with
# its SONAME, <h2api.h>, h2api.pc, the h2api binary and its config), then the out-of-tree example
# examples/album_summary built from a copy outside the source tree with `pkg-config --cflags
# --libs h2api` pointed into that DESTDIR, linked shared (run with LD_LIBRARY_PATH) and static
# (Requires.private / Libs.private), each started and checked with curl against the embedded
# demo upstream.
# Needs H2API_BUILDDIR (the configured build tree; `make check` sets it), make, cc, pkg-config.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin
if [ -z "${H2API_BUILDDIR:-}" ] || [ ! -f "$H2API_BUILDDIR/Makefile" ]; then
    bail "H2API_BUILDDIR is a configured build tree" "a directory with a Makefile" "'${H2API_BUILDDIR:-<unset>}'"
fi

# ---------------------------------------------------------------- make install DESTDIR=...
ROOT=$T/root
# a make of its own: not the jobserver of the `make check` that runs this script
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$H2API_BUILDDIR" install DESTDIR="$ROOT" >"$T/install.log" 2>&1; then
    ok "make install DESTDIR=... exits 0"
else
    bail "make install DESTDIR=... exits 0" "0" "failure: $(shorten "$(tail -n 5 "$T/install.log")")"
fi
PC=$(find "$ROOT" -name h2api.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$PC" ] || bail "h2api.pc is installed under lib/pkgconfig" "a file" "none under $ROOT"
ok "h2api.pc is installed under lib/pkgconfig"
LIBDIR=$(dirname "$(dirname "$PC")")
PREFIX_DIR=$(dirname "$LIBDIR")
for f in "$LIBDIR/libh2api.a" "$LIBDIR/libh2api.so.0" "$PREFIX_DIR/include/h2api.h" "$PREFIX_DIR/bin/h2api"; do
    if [ -e "$f" ]; then ok "installed: ${f#"$ROOT"}"; else notok "installed: ${f#"$ROOT"}" "a file" "missing"; fi
done
if [ -n "$(find "$ROOT" -name h2api.yaml -path '*etc*' | head -n 1)" ]; then ok "installed: the config h2api.yaml"; else notok "installed: the config h2api.yaml" "a file under etc" "missing"; fi
check_eq "libh2api.so is a link to the SONAME's file" "libh2api.so.0" "$(readlink "$LIBDIR/libh2api.so" | sed 's/\.[0-9]*\.[0-9]*$//')"
check_match "the shared library's SONAME is libh2api.so.0" 'Library soname: \[libh2api\.so\.0\]' "$(readelf -d "$LIBDIR/libh2api.so.0" 2>&1)"
check_eq "no routes/ symbol in the installed library (the example app is not in it)" 0 \
    "$(nm -D --defined-only "$LIBDIR/libh2api.so.0" | grep -c -E ' (routes_|h2api_routes_register)')"
check_eq "h2api_main is exported" 1 "$(nm -D --defined-only "$LIBDIR/libh2api.so.0" | grep -c -E ' T h2api_main$')"
check_eq "the installed h2api needs no libh2api.so (the core is linked in)" 0 "$(ldd "$PREFIX_DIR/bin/h2api" | grep -c libh2api)"
out=$("$PREFIX_DIR/bin/h2api" --version 2>&1)
check_contains "the installed h2api runs" "h2api 0.1.0" "$out"
if grep -q -E '#include +"|<(h2o|uv|jansson|nghttp2/nghttp2)\.h>' "$PREFIX_DIR/include/h2api.h"; then
    notok "<h2api.h> includes no project-internal, libh2o, libuv, nghttp2 or jansson header" "none" \
        "$(shorten "$(grep -E '#include' "$PREFIX_DIR/include/h2api.h")")"
else
    ok "<h2api.h> includes no project-internal, libh2o, libuv, nghttp2 or jansson header"
fi

# ---------------------------------------------------------------- pkg-config into the DESTDIR
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT
flags=$(pkg-config --cflags --libs h2api 2>&1)
check_contains "pkg-config --cflags: the DESTDIR's include dir" "-I$PREFIX_DIR/include" "$flags"
check_contains "pkg-config --libs: the DESTDIR's lib dir" "-L$LIBDIR" "$flags"
check_match "pkg-config --libs: -lh2api only (the dependencies are private)" '-lh2api *$' "$flags"
sflags=$(pkg-config --static --libs h2api 2>&1)
for l in -lh2o -luv -lssl -lcrypto -lnghttp2 -lyaml -ljansson; do
    check_contains "pkg-config --static --libs: $l" " $l" " $sflags"
done

# ---------------------------------------------------------------- the example, out of tree
# a copy outside the source tree: nothing but the DESTDIR can provide its header and library
SRC=$T/album_summary
cp -R "$H2API_SRCDIR/examples/album_summary" "$SRC"
rm -f "$SRC/album_summary" "$SRC/album_summary-static"
EXAMPLE_CC=${H2API_EXAMPLE_CC:-cc}
# the sanitizer build's library needs the same runtime in the program that loads it
EXAMPLE_CFLAGS="-O2 -g -Werror ${H2API_EXAMPLE_CFLAGS:-}"
for target in album_summary album_summary-static; do
    if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$SRC" CC="$EXAMPLE_CC" CPPFLAGS=-MD CFLAGS="$EXAMPLE_CFLAGS" LDFLAGS="${H2API_EXAMPLE_CFLAGS:-}" \
        "$target" >"$T/$target.build.log" 2>&1; then
        ok "$target builds with pkg-config against the DESTDIR"
    else
        bail "$target builds with pkg-config against the DESTDIR" "success" "$(shorten "$(tail -n 8 "$T/$target.build.log")")"
    fi
done
# -MD: the compiler's own list of the headers it read
check_contains "the build read the DESTDIR's <h2api.h>" "$PREFIX_DIR/include/h2api.h" "$(cat "$SRC"/album_summary*.d 2>&1)"
check_contains "the shared program needs libh2api.so.0" "libh2api.so.0" "$(readelf -d "$SRC/album_summary" 2>&1)"
check_eq "the static program needs no libh2api.so" 0 "$(readelf -d "$SRC/album_summary-static" | grep -c libh2api)"
check_contains "LD_LIBRARY_PATH resolves libh2api.so.0 into the DESTDIR" "$LIBDIR/libh2api.so.0" \
    "$(LD_LIBRARY_PATH=$LIBDIR ldd "$SRC/album_summary")"

# check_example NAME PROGRAM: PROGRAM (the example, or a script that execs it) serves the album summary
check_example() {
    local name=$1 out rc port demo
    local EXAMPLE=$2
    out=$("$EXAMPLE" --version 2>&1)
    rc=$?
    check_eq "$name: --version exits 0" 0 "$rc"
    check_contains "$name: --version prints the library's version" "h2api 0.1.0" "$out"
    out=$("$EXAMPLE" --help 2>&1)
    check_contains "$name: --help names the program and -c" "Usage: album_summary" "$out"
    "$EXAMPLE" --no-such-option >/dev/null 2>&1 </dev/null
    check_eq "$name: an unknown option exits 2" 2 "$?"
    printf 'workers: 0\n' >"$T/bad.yaml"
    out=$("$EXAMPLE" -t -c "$T/bad.yaml" 2>&1)
    rc=$?
    check_eq "$name: -t on an invalid config exits 2" 2 "$rc"
    check_match "$name: -t names FILE:LINE" "bad\.yaml:1" "$out"

    port=$(free_port)
    demo=$(free_port)
    write_conf "$T/$name.yaml" "$port" "http://127.0.0.1:$demo" "$demo"
    out=$("$EXAMPLE" -t -c "$T/$name.yaml" 2>&1)
    check_eq "$name: -t on a valid config exits 0" 0 "$?"
    H2API_BIN=$EXAMPLE start_server "$T/$name.yaml" "$port" "$name" ||
        bail "$name: becomes ready" "/readyz 200 within 10 s" "no"
    ok "$name: becomes ready"
    local b=http://127.0.0.1:$port pid=$SERVER_PID
    http "$b/v1/albums/1/summary"
    check_code "$name: GET /v1/albums/1/summary" 200
    check_json_ct "$name: GET /v1/albums/1/summary content-type"
    check_json "$name: the album is album 1" 'sorted(d) == ["album", "owner", "photos"] and d["album"]["id"] == 1'
    check_json "$name: its 50 photos, all of album 1" 'len(d["photos"]) == 50 and all(p["albumId"] == 1 for p in d["photos"])'
    check_json "$name: the owner is the album's userId" 'd["owner"]["id"] == d["album"]["userId"] and "username" in d["owner"]'
    http "$b/v1/albums/100/summary"
    check_json "$name: the last album (100) and its owner" 'd["album"]["id"] == 100 and d["owner"]["id"] == d["album"]["userId"]'
    http "$b/v1/albums/999/summary"
    check_code "$name: an unknown album" 404
    check_json_eq "$name: an unknown album's body" '{"detail":"Album not found"}'
    http "$b/v1/albums/abc/summary"
    check_code "$name: a non-int album_id" 422
    check_json "$name: the 422 names the path parameter" 'd["detail"][0]["loc"] == ["path", "album_id"]'
    http "$b/v1/posts/1"
    check_code "$name: the example app's other routes are not in the library" 404
    http "$b/healthz"
    check_code "$name: GET /healthz (the core)" 200
    # the HTTP/1.1 smuggling guard interposes libh2o's parser from the library as well
    out=$(raw_request 127.0.0.1 "$port" 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
    check_match "$name: Content-Length with Transfer-Encoding is refused (the guard is in the path)" '^HTTP/1\.1 400' "$out"
    kill -TERM "$pid" 2>/dev/null
    wait_exit "$pid" 10
    check_eq "$name: SIGTERM drains and exits 0" 0 "$EXIT_STATUS"
}

# the shared program through LD_LIBRARY_PATH, by exec: the PID started is the server's
printf '#!/bin/bash\nLD_LIBRARY_PATH=%q exec %q "$@"\n' "$LIBDIR" "$SRC/album_summary" >"$T/album_summary-shared"
chmod +x "$T/album_summary-shared"
check_example shared "$T/album_summary-shared"
check_example static "$SRC/album_summary-static"

finish
