# freshet: `make run` and `make test` are the whole set-up (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ROOT ?= .freshet
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv run test lint typecheck compile images bench clean
IMAGE_PREFIX ?= freshet
TAG ?= dev

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## create .venv and install the project with its dev tools

run: $(STAMP) ## compile the training pipeline and run it locally on the sample data
	$(BIN)/freshet compile
	$(BIN)/freshet run training --root $(ROOT)

test: $(STAMP) ## run the whole test suite (installs Chromium and Java as root, or says how)
	@# Chromium, Java and the gcloud Pub/Sub emulator: installed as root, else one sentence.
	$(BIN)/python -m tests.prerequisites
	@# pytest exits 5 when it collects nothing (e.g. a typo in PYTEST_ARGS): that fails, unless
	@# ALLOW_NO_TESTS=1 says an empty selection is on purpose (nothing sets it today).
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ] && [ "$(ALLOW_NO_TESTS)" = 1 ]; then \
		echo "pytest collected no tests (ALLOW_NO_TESTS=1)"; exit 0; fi; exit $$status

lint: $(STAMP) ## ruff, mypy strict and the pipeline policy lint (cloudbuild: lint)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/freshet lint
	$(BIN)/freshet lint --target kfp

typecheck: $(STAMP) ## mypy strict on freshet/ and components/
	$(BIN)/mypy

compile: $(STAMP) ## compile every pipeline to build/pipelines/*.yaml (cloudbuild: compile)
	$(BIN)/freshet compile

images: ## build the components and trainer images (needs a Docker engine; cloudbuild: build-*)
	docker build -f containers/components.Dockerfile -t $(IMAGE_PREFIX)/components:$(TAG) .
	docker build -f containers/trainer.Dockerfile -t $(IMAGE_PREFIX)/trainer:$(TAG) .

bench: $(STAMP) ## every benchmark against its baseline, side by side (prints ratios; ~12 min)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/trigger.py
	$(BIN)/python bench/train.py
	$(BIN)/python bench/predict.py

clean: ## remove build outputs and the local root
	rm -rf build $(ROOT)
