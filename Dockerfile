# syntax=docker/dockerfile:1
#
# trueconf-webhook-bot: build with `deno task compile` (the same task CI dry-runs in
# scripts/check_compile.sh), run the single binary on a minimal glibc image as a non-root user.
#
#   docker build -t trueconf-webhook-bot .
#   docker run -d -p 127.0.0.1:8080:8080 -v trueconf-webhook-data:/data --env-file .env trueconf-webhook-bot
#
# Multi-arch: `docker buildx build --platform linux/amd64,linux/arm64 .` works because the build
# stage runs on the target platform, so the host build of `deno compile` is the target build.

# Keep in step with the ./deno wrapper (the version tests run under).
ARG DENO_VERSION=2.9.6

# ---- build ------------------------------------------------------------------------------------
# The Debian flavour of the official image, named explicitly so the tag can't silently change distro.
FROM denoland/deno:debian-${DENO_VERSION} AS build
WORKDIR /build

# Dependencies first, from the lockfile only: this layer stays cached until deno.json or
# deno.lock change. --frozen fails the build instead of quietly re-resolving versions.
COPY deno.json deno.lock ./
RUN deno install --frozen

# The build needs only deno.json, deno.lock and src/ (.dockerignore sends nothing else), and
# runs the repository's own task so the flags, --include list and permissions are the tested ones.
# Needs network for the denort base binary (dl.deno.land), which deno compile downloads.
COPY src ./src
RUN deno task compile

# The data directory for distroless' "nonroot" user (65532). Created here because the runtime
# image has no shell; a fresh named volume copies its ownership and mode when first mounted.
RUN mkdir -p /rootfs/data && chmod 0700 /rootfs/data

# ---- runtime ----------------------------------------------------------------------------------
# distroless/cc: glibc, libgcc and CA certificates, no shell or package manager. The Deno
# runtime inside the binary needs glibc and libgcc_s (checked with ldd), nothing else.
FROM gcr.io/distroless/cc-debian12:nonroot

# Root-owned and not writable by the service user, so a compromised process can't replace it.
COPY --from=build /build/dist/trueconf-webhook-bot /app/trueconf-webhook-bot
# Copying the tree (not the folder's contents) makes /data itself an entry that --chown applies to.
COPY --from=build --chown=65532:65532 /rootfs/ /

# The KV file (and its -wal/-shm companions) lives in the volume; the binary writes nowhere else.
# Listen on all interfaces inside the container; publish the port on 127.0.0.1 on the host
# (see docker-compose.yml) and put a TLS reverse proxy in front.
ENV WEBHOOK_STORAGE_PATH=/data/webhooks.kv \
    WEBHOOK_HTTP_HOST=0.0.0.0 \
    WEBHOOK_HTTP_PORT=8080

# A .env file is read from the working directory; /app holds only the binary, so settings come
# from the container environment (docker run --env-file / compose) unless one is mounted here.
WORKDIR /app
VOLUME ["/data"]
EXPOSE 8080

# Numeric so orchestrators can verify "non-root" without reading /etc/passwd.
USER 65532:65532

# The image has no curl/wget: the binary probes its own /readyz on loopback (exit 0 ready,
# 1 not). start-period covers the first connection to TrueConf Server.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/app/trueconf-webhook-bot", "healthcheck"]

# The binary runs as PID 1: it handles SIGTERM itself (graceful shutdown: stop accepting,
# finish in-flight deliveries, close KV). Give it time with `docker stop -t 30`
# (compose: stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/trueconf-webhook-bot"]
CMD ["serve"]
