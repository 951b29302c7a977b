# syntax=docker/dockerfile:1
# Image for the training step on a GPU: the CUDA build of torch plus this package.
# Build context: the repository root (`docker build -f containers/trainer.Dockerfile .`).
# PyPI's torch wheels for Linux x86_64 are the CUDA builds and carry the CUDA runtime and
# cuDNN as nvidia-* wheels, so a slim Python base is a complete CUDA runtime image; the host
# (Vertex AI, GKE) provides only the driver.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
RUN /opt/venv/bin/pip install torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY freshet ./freshet
COPY components ./components
COPY pipelines ./pipelines
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/python -c "import torch, kfp, freshet.components.train.core; assert torch.version.cuda"

FROM ${PYTHON_IMAGE}
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin freshet
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001
WORKDIR /home/freshet
CMD ["python", "-c", "import torch; print('cuda', torch.cuda.is_available())"]
