# syntax=docker/dockerfile:1
#
# trueconf-webhook-bot: build with `deno task compile` (the same task CI dry-runs in
# scripts/check_compile.sh), run the single binary on a minimal glibc image as a non-root user.
#
#   docker build -t trueconf-webhook-bot .
#   docker compose up -d          (docker-compose.yml: named volume, the bot's settings from .env)
#
# With plain `docker run`, always name the volume (-v trueconf-webhook-data:/data): the image
# declares no VOLUME, so nothing creates an anonymous one that a re-created container loses.
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
# Needs network for the denort base binary (dl.deno.land), which deno compile downloads. An
# air-gapped build puts the unzipped `denort` next to this Dockerfile (.dockerignore lets that
# one file in) and it is used instead (docs/deploy.md, "Build without internet").
COPY src ./src
RUN --mount=type=bind,target=/ctx \
    if [ -x /ctx/denort ]; then export DENORT_BIN=/ctx/denort; else unset DENORT_BIN; fi; \
    deno task compile

# The data directory for distroless' "nonroot" user (65532). Created here because the runtime
# image has no shell; a fresh named volume copies its ownership and mode when first mounted.
RUN mkdir -p /rootfs/data && chmod 0700 /rootfs/data

# ---- runtime ----------------------------------------------------------------------------------
# distroless/cc: glibc, libgcc and CA certificates, no shell or package manager. The Deno
# runtime inside the binary needs glibc and libgcc_s (checked with ldd), nothing else.
FROM gcr.io/distroless/cc-debian12:nonroot

ARG VERSION=dev
LABEL org.opencontainers.image.title="trueconf-webhook-bot" \
      org.opencontainers.image.description="Incoming and outgoing webhooks for TrueConf Server chats" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.documentation="docs/deploy.md in the source tree" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

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
# from the container environment (docker-compose.yml lists the bot's own, nothing else).
# No VOLUME: it would make an anonymous volume per container; mount a named one at /data.
WORKDIR /app
EXPOSE 8080

# Numeric so orchestrators can verify "non-root" without reading /etc/passwd.
USER 65532:65532

# The image has no curl/wget: the binary probes itself on loopback. The health check asks
# /readyz and reads its answer: healthy on 200, and on 503 while the only problems are TrueConf
# Server's state (down, login refused, not answering): the bot then answers 202 and queues, and
# a restart (what an orchestrator or autoheal does with an unhealthy container; plain Docker only
# marks it) would not bring TrueConf back. Unhealthy when the bot does not answer or reports its
# own trouble (storage file gone; the store's change feed unreadable, which a fresh start reads
# again: the bot retries it within 5 s, so only a failure outlasting three probes turns the
# container unhealthy). Strict readiness (200 only) is `healthcheck --ready`, for monitoring.
# start-period covers the start.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/app/trueconf-webhook-bot", "healthcheck"]

# The binary runs as PID 1: it handles SIGTERM itself (graceful shutdown: stop accepting,
# finish in-flight deliveries within WEBHOOK_SHUTDOWN_GRACE_SECONDS, close KV). Docker kills
# after `docker stop -t` seconds (10 by default): give it WEBHOOK_SHUTDOWN_GRACE_SECONDS + 20
# (compose: stop_grace_period, 30s for the default 10).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/trueconf-webhook-bot"]
CMD ["serve"]
