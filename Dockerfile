# syntax=docker/dockerfile:1
#
# scamwatch container image.
#
#   docker build -t scamwatch:0.1.0 .
#   docker run --rm -p 8080:8080 -e SCAMWATCH_BROKERS=kafka:9092 scamwatch:0.1.0
#   docker run --rm -i scamwatch:0.1.0 score - < examples/posts.jsonl
#
# Stages: build (the Rust binary), ort (libonnxruntime.so from the pinned onnxruntime wheel),
# and the runtime image (debian slim, non-root uid 10001, classifier and rule pack included).
# Needs BuildKit (the default builder since Docker 23) for the cache mounts.

ARG RUST_IMAGE=rust:1-bookworm
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
# The Kafka client (librdkafka, built from source by rdkafka-sys) links OpenSSL and zlib.
# Unpinned on purpose: the distribution's current security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev zlib1g-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole workspace is needed to resolve it (load-tests is a member); only scamwatch is built.
COPY Cargo.toml Cargo.lock ./
COPY schemas ./schemas
COPY service ./service
COPY load-tests ./load-tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p scamwatch \
 && install -D -m 0755 target/release/scamwatch /out/scamwatch

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS ort
# libonnxruntime.so from the onnxruntime wheel on PyPI (the ort crate loads it at run time).
# The hashes are those of the CPython 3.11 manylinux_2_28 wheels for x86_64 and aarch64.
ARG ORT_VERSION=1.31.1
RUN printf 'onnxruntime==%s --hash=sha256:%s --hash=sha256:%s\n' "${ORT_VERSION}" \
      5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f \
      da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3 > /tmp/ort.txt \
 && pip download --no-deps --only-binary=:all: --require-hashes --no-cache-dir \
      --disable-pip-version-check -d /tmp/wheel -r /tmp/ort.txt \
 && python -m zipfile -e /tmp/wheel/onnxruntime-"${ORT_VERSION}"-*.whl /tmp/ort \
 && install -D -m 0644 /tmp/ort/onnxruntime/capi/libonnxruntime.so."${ORT_VERSION}" \
      /out/libonnxruntime.so."${ORT_VERSION}"

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ARG ORT_VERSION=1.31.1
LABEL org.opencontainers.image.title="scamwatch" \
      org.opencontainers.image.description="Streaming detector of scam-compound recruitment ads: Kafka in, explained verdicts out" \
      org.opencontainers.image.licenses="Apache-2.0"
# libssl3 for Kafka TLS, ca-certificates for verifying brokers, libstdc++6 for ONNX Runtime.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 libstdc++6 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 scamwatch \
 && useradd --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin scamwatch
COPY --from=build /out/scamwatch /usr/local/bin/scamwatch
COPY --from=ort /out/libonnxruntime.so.${ORT_VERSION} /opt/onnxruntime/libonnxruntime.so.${ORT_VERSION}
COPY models/classifier/ /opt/scamwatch/models/classifier/
COPY models/rules/pack.toml /etc/scamwatch/rules/pack.toml
ENV ORT_DYLIB_PATH=/opt/onnxruntime/libonnxruntime.so.${ORT_VERSION} \
    SCAMWATCH_RULE_PACK=/etc/scamwatch/rules/pack.toml \
    SCAMWATCH_MODEL=/opt/scamwatch/models/classifier \
    SCAMWATCH_HTTP_ADDR=0.0.0.0:8080 \
    SCAMWATCH_LOG_FORMAT=json
USER 10001:10001
# Smoke test at build time, as the runtime user: the binary, its shared libraries, ONNX Runtime,
# the classifier and the rule pack all load, and one post is scored.
RUN printf '%s\n' '{"id":"image-smoke-test","text":"Customer service job in Sihanoukville, USD 1500/month, free flights, contact Telegram @hr_team"}' > /tmp/smoke.jsonl \
 && scamwatch score /tmp/smoke.jsonl > /dev/null \
 && rm /tmp/smoke.jsonl
EXPOSE 8080
ENTRYPOINT ["scamwatch"]
CMD ["serve"]
