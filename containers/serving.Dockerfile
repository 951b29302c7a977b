# The serving image: one serving bundle on onnxruntime + FastAPI + uvicorn. No torch.
#
# Build context (staged by components/package/image.py for Cloud Build):
#   containers/serving.Dockerfile, pyproject.toml, README.md, freshet/, bundle/
# where bundle/ is a serving bundle (model.onnx, signature.json, golden.json,
# requirements.txt). Vertex AI sets AIP_HTTP_PORT, AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE;
# the command is the same `freshet serve` the verify step runs locally.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# The bundle's pinned serving requirements first: this layer is reused while they hold.
COPY bundle/requirements.txt /tmp/requirements.txt
# They are the full pinned closure, so --no-deps installs exactly the checked versions.
RUN /opt/venv/bin/pip install --no-deps -r /tmp/requirements.txt
# freshet itself without its dependencies (they include torch and kfp, which serving never imports).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY freshet ./freshet
RUN /opt/venv/bin/pip install --no-deps . \
    && ! /opt/venv/bin/python -c "import torch" 2>/dev/null

FROM ${PYTHON_IMAGE}
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin serving
COPY --from=build /opt/venv /opt/venv
COPY --chown=10001:10001 bundle /bundle
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 AIP_HTTP_PORT=8080
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s%s' % (os.environ.get('AIP_HTTP_PORT', '8080'), os.environ.get('AIP_HEALTH_ROUTE', '/health')), timeout=2)"]
CMD ["freshet", "serve", "/bundle"]
