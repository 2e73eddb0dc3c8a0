# The gazer image: `docker build -t gazer:0.1.0 .` (deploy/kubernetes uses it for serving,
# the watcher, the MLflow server and the Ray head and workers).
# Stage 1 builds a virtual environment with every extra; stage 2 copies it onto a slim base
# with the Debian tools the apps use, and runs as a non-root user.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# torch from the CPU wheel index: the default index pulls several GB of CUDA libraries
RUN python -m venv /opt/gazer \
 && /opt/gazer/bin/pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
 && /opt/gazer/bin/pip install ".[s3,postgres,ray,nlp,torch]"

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr apertium apertium-eng-cat \
      apertium-fra-cat apertium-cat-ita curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 gazer \
 && useradd --uid 10001 --gid gazer --home-dir /var/lib/gazer --create-home --shell /usr/sbin/nologin gazer
COPY --from=build /opt/gazer /opt/gazer
ENV PATH=/opt/gazer/bin:$PATH GAZER_HOME=/var/lib/gazer PYTHONUNBUFFERED=1 \
    GAZER_SERVING__HOST=0.0.0.0
USER 10001:10001
WORKDIR /var/lib/gazer
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
ENTRYPOINT ["gazer"]
CMD ["serve"]
