# logship container image.
#   docker build -t logship .
# Two stages: `build` compiles the agent (Rust on Debian bookworm), `runtime` is a slim Debian
# with CA certificates, the binary, a default config and the data directory as a volume.
# Build arguments:
#   BUILDER  the image the binary is built in (default rust:1-bookworm)
#   BASE     the runtime base (default debian:bookworm-slim)
#   BINARY   a binary already built, as a path inside the build context (for example
#            target/release/logship): copied instead of compiled, so the build stage needs no
#            Rust. With no registry reachable, tests pass a base image made by
#            scripts/base-image.sh as both BUILDER and BASE, and the binary the suite built.
# Works with the classic builder and BuildKit. See deploy/docker/README.md.
ARG BUILDER=rust:1-bookworm
ARG BASE=debian:bookworm-slim

FROM ${BUILDER} AS build
ARG BINARY=
WORKDIR /src
COPY . .
RUN set -eu; \
    if [ -n "$BINARY" ]; then \
      install -D -m 0755 "$BINARY" /out/logship; \
    else \
      cargo build --release --locked --bin logship; \
      install -D -m 0755 target/release/logship /out/logship; \
    fi; \
    install -D -m 0644 deploy/docker/logship.yaml /out/logship.yaml

FROM ${BASE} AS runtime
# CA certificates for TLS to outputs (a base that has them already is left as it is).
RUN set -eu; \
    if [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends ca-certificates; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    mkdir -p /etc/logship /var/lib/logship; \
    chmod 0700 /var/lib/logship
COPY --from=build /out/logship /usr/bin/logship
COPY --from=build /out/logship.yaml /etc/logship/logship.yaml
ARG VERSION=dev
LABEL org.opencontainers.image.title="logship" \
      org.opencontainers.image.description="Per-node log shipping agent: Docker, CRI, files and syslog to Logstash, Elasticsearch/OpenSearch and CloudWatch Logs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/logship/logship"
# Checkpoints and the syslog spool: keep them across container restarts and upgrades.
VOLUME ["/var/lib/logship"]
# /metrics, /health, /live (http.listen in the default config).
EXPOSE 5066
# Liveness, not /health: an output that is down makes /health 503, and restarting the agent
# for that would only close the files it keeps open.
# bash's /dev/tcp: the image needs no HTTP client.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5066 && printf 'GET /live HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["logship"]
CMD ["run"]
