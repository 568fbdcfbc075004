# syntax=docker/dockerfile:1
#
# One image for every role of cnai-monitor: the `cnai` CLI (migrations, health probes),
# the Celery workers, Celery beat and the web app. There is no ENTRYPOINT, so the command picks the role:
#   docker run IMAGE cnai db upgrade
#   docker run IMAGE celery -A workers.app worker --queues poll,classify --concurrency 2
#   docker run -p 8000:8000 IMAGE cnai web --host 0.0.0.0 --port 8000
# Kubernetes sets `command:` per Deployment (deploy/k8s/base/), see docs/deploy.md.
#
# Base: Python 3.11 on Debian bookworm, pinned by tag and by the digest of its multi-arch
# index. Move both together; `docker buildx imagetools inspect python:3.11.14-slim-bookworm`
# prints the current digest.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS base

# --- builder: compilers and pip live here only -------------------------------------------
FROM base AS builder

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential=12.9 \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY alembic/ alembic/
COPY config/ config/
COPY cli/ cli/
COPY db/ db/
COPY services/ services/
COPY web/ web/
COPY workers/ workers/

# Editable install on purpose: the packages stay in /app next to config/ and alembic/,
# which the code finds relative to its own files (services.settings.REPO_ROOT), and the
# `cnai` console script imports them from there. No PYTHONPATH is needed.
# The byte-code is compiled here because the runtime root filesystem is read-only.
RUN pip install --no-cache-dir --no-deps --editable . \
    && python -m compileall -q cli db services workers alembic

# --- runtime -------------------------------------------------------------------------------
FROM base AS runtime

LABEL org.opencontainers.image.title="cnai-monitor" \
      org.opencontainers.image.description="Feed monitor for China's LLM and AI-policy news: Celery workers, beat and the cnai CLI"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# Fixed, high UID/GID (10001) so Kubernetes runAsUser/fsGroup match and never clash with a host user.
RUN groupadd --system --gid 10001 cnai \
    && useradd --system --uid 10001 --gid cnai --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin cnai

# Code and venv stay owned by root: the app user can read but not change them.
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

# ./var holds the default SQLite file, so `docker run IMAGE cnai ...` works without a database
# server; in Kubernetes DATABASE_URL points at PostgreSQL and the root filesystem is read-only.
RUN install -d -o 10001 -g 10001 /app/var

WORKDIR /app
USER 10001:10001

# Prometheus metrics of the workers (METRICS_PORT).
EXPOSE 9108
# The web app (`cnai web --host 0.0.0.0 --port 8000`).
EXPOSE 8000

# No image-level health check: one image serves several roles with different checks, and
# Kubernetes ignores HEALTHCHECK. Probes are in the manifests (`cnai health worker|beat`).
HEALTHCHECK NONE

CMD ["cnai", "--help"]
