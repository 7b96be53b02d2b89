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

finish
