# h2api container image: a build stage with the toolchain, a runtime stage with only the
# shared libraries, running as the unprivileged user h2api.
#
#   podman build --format docker -t h2api .        # or: docker build -t h2api .
#   docker run --rm -p 8000:8000 h2api               # shipped config, embedded demo upstream
#   curl localhost:8000/v1/posts/1
#
# Configuration (see docker/README.md):
#   by mount  -v ./my.yaml:/etc/h2api/h2api.yaml:ro
#   by env    H2API_LISTEN, H2API_WORKERS, H2API_LOG_LEVEL, H2API_UPSTREAM_URL
# `podman build` needs --format docker to keep HEALTHCHECK (the OCI image format has no such
# field). scripts/docker-check builds and checks this image with podman.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- build: the project's own autotools build, as on a fresh Debian 12 machine ----
FROM ${DEBIAN_IMAGE} AS build
# The Debian packages of BUILD_PKGS in scripts/dev (check is needed by ./configure too).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        build-essential autoconf automake libtool pkg-config \
        libh2o-dev libuv1-dev libssl-dev libnghttp2-dev check libyaml-dev libjansson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# autoreconf depends on these files only: a change elsewhere in the tree reuses this layer.
COPY configure.ac Makefile.am ./
COPY m4/ m4/
RUN autoreconf -fi
# .dockerignore keeps out build trees and generated autotools files, so that this is a clean
# source tree (an in-place configured tree would make the out-of-tree configure refuse).
COPY . .
RUN mkdir build \
 && cd build \
 && ../configure -q --prefix=/usr/local --sysconfdir=/etc/h2api \
 && make -j"$(nproc)" \
 && make install-strip DESTDIR=/out \
 && /out/usr/local/bin/h2api --version

# ---- runtime ----
FROM ${DEBIAN_IMAGE}
# Only the shared libraries the binary links (libh2o0.13 is Debian's libuv build of h2o).
# No curl: the health check below is bash's /dev/tcp.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libh2o0.13 libuv1 libssl3 libnghttp2-14 libyaml-0-2 libjansson4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 h2api \
 && useradd --system --uid 10001 --gid h2api --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin h2api
COPY --from=build /out/usr/local/bin/h2api /usr/local/bin/h2api
COPY config/h2api.yaml /etc/h2api/h2api.yaml
# Every interface of the container; the shipped file's 127.0.0.1:8000 would be unreachable
# from outside. The embedded demo upstream stays on 127.0.0.1:8081 inside the container.
ENV H2API_LISTEN=0.0.0.0:8000
# The user h2api, by number, so that a runtime can tell it is not root (runAsNonRoot).
USER 10001:10001
EXPOSE 8000
# /healthz answers 200 while the process runs (/readyz turns 503 during a drain).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000 && printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && read -r _ status _ <&3 && [ \"$status\" = 200 ]"]
# SIGTERM drains (requests in flight finish, up to shutdown_timeout_ms) and exits 0; keep the
# runtime's stop timeout above shutdown_timeout_ms (default 10 s): docker stop -t 15.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/h2api"]
CMD ["-c", "/etc/h2api/h2api.yaml"]
