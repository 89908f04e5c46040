# syntax=docker/dockerfile:1
# Parity gateway image. Two variants from this one file:
#   docker build -t parity:latest .                                  # with the embedded llama.cpp model
#   docker build --build-arg EXTRAS=privacy,ml -t parity:slim .      # for replicas that only front vLLM/APIs
# Config: mount a parity.yaml and set PARITY_CONFIG to its path (deploy/compose.yaml does this).
# Not built on the machine that wrote it (no Docker engine there): see docs/deployment.md.

ARG PYTHON_VERSION=3.11

# --- builder: every dependency as a wheel, llama-cpp-python compiled once ----------------------
FROM python:${PYTHON_VERSION}-slim AS builder
ARG EXTRAS=local,privacy,ml
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    CMAKE_BUILD_PARALLEL_LEVEL=4
# Unpinned apt packages: the slim base image's Debian release pins them well enough.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Same portable x86-64 flags as the Makefile: AVX2/FMA/F16C on, llama.cpp's AMX kernels off
# (with -march=native on Sapphire Rapids they segfault on every prompt longer than one token).
RUN if [ "$(uname -m)" = "x86_64" ]; then \
        export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"; \
    fi \
    && pip wheel --wheel-dir /wheels ".[${EXTRAS}]"

# --- runtime: no compiler, non-root, the wheels installed offline ------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime
ARG EXTRAS=local,privacy,ml
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1
# libgomp1: llama.cpp's OpenMP runtime; tini: PID 1 that forwards SIGTERM and reaps the
# llama.cpp child process.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin parity \
    && mkdir -p /home/parity/.parity /etc/parity \
    && chown -R parity:parity /home/parity
# Parity and every dependency come from the builder's wheels, resolved once there.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "parity[${EXTRAS}]"
USER 10001:10001
WORKDIR /home/parity
EXPOSE 8000
# /healthz answers as soon as the process serves HTTP; PARITY_PORT moves the port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PARITY_PORT', '8000'), timeout=2)"]
ENTRYPOINT ["tini", "--", "parity"]
CMD ["serve", "--host", "0.0.0.0"]
