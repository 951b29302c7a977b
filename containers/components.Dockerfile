# syntax=docker/dockerfile:1
# Image for the CPU steps (data-version, fetch, evaluate, gate, package, verify, register) and
# for the launcher of the Spot train task's CustomJob (google-cloud-pipeline-components).
# Build context: the repository root (`docker build -f containers/components.Dockerfile .`).
# The package is installed with kfp, so lightweight components (install_kfp_package=False)
# start without installing anything: the compiled YAML runs `python3 -m kfp.dsl.executor_main`.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# CPU build of torch: the CPU steps never need CUDA and it is a tenth of the size.
RUN /opt/venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY freshet ./freshet
COPY components ./components
COPY pipelines ./pipelines
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/python -c "import kfp, freshet.components.fetch.core, freshet.cli, \
        google_cloud_pipeline_components.container.v1.custom_job.launcher"

FROM ${PYTHON_IMAGE}
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin freshet
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001
WORKDIR /home/freshet
CMD ["freshet", "--help"]
