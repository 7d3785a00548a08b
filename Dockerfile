# acmectl in a container: the agent of `acmectl gen compose` deployments.
#   docker build -t acmectl:0.1.0 .
# Both stages are Debian 12, the release acmectl is built and tested on; the final
# stage carries only the shared libraries acmectl links (checked against the built
# binary by tests/integration/dockerfile_acmectl.sh), curl for the HEALTHCHECK, and
# runs as an unprivileged user. acmectl links only glibc dynamically: SQLite, c-ares and
# ldns come from their static archives (ACMECTL_STATIC_DEPS, cmake/AcmectlStatic.cmake),
# OpenSSL and the C++ runtime too (ACMECTL_STATIC_RUNTIME), spdlog, fmt and toml++ from
# their headers (cmake/AcmectlRuntime.cmake). libpq5 is there for a fleet store
# ([store] url = "postgresql://..."), which loads it at run time.

FROM debian:12.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       build-essential cmake pkg-config ca-certificates \
       libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libc-ares-dev libsqlite3-dev \
       libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev \
       libldns-dev libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DACMECTL_BUILD_TESTS=OFF \
    && cmake --build /build -j"$(nproc)" \
    && cmake --install /build --prefix /usr --strip

FROM debian:12.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       ca-certificates curl \
       libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10002 acmectl \
    && useradd --system --uid 10002 --gid acmectl --home-dir /var/lib/acmectl \
       --shell /usr/sbin/nologin acmectl \
    && install -d -o acmectl -g acmectl -m 0700 /var/lib/acmectl /var/lib/acmectl/live \
    && install -d -o acmectl -g acmectl -m 0750 /etc/acmectl
COPY --from=build /usr/bin/acmectl /usr/bin/acmectl
COPY --from=build /usr/share/acmectl /usr/share/acmectl
ENV ACMECTL_STATE_DIR=/var/lib/acmectl
USER 10002:10002
# 8402: the HTTP-01 responder nginx proxies to; 9469: /metrics and /healthz.
EXPOSE 8402 9469
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9469/healthz"]
ENTRYPOINT ["/usr/bin/acmectl"]
CMD ["agent", "--config", "/etc/acmectl/acmectl.toml"]
