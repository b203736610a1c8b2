# make pipeline [DUMP=file-or-folder] [CONFIG=file.yaml] [SET="key=value key=value"] [EXECUTOR=ray]
# make test | make test-fast | make train-stance [LABELLED=file.jsonl] | make eval-stance | make eval-stance-news | make bench | make clean-cache
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DUMP   ?= examples/dumps/elm_street_bike_lane.txt
CONFIG ?= configs/default.yaml
SET    ?=
EXECUTOR ?=
STAMP  := $(VENV)/.installed
RAY_STAMP := $(VENV)/.installed-ray

SHARED ?= ../shared
LABELLED ?=

.PHONY: pipeline test test-fast setup clean-cache train-stance eval-stance eval-stance-news bench

setup: $(STAMP)

# torch first, pinned: 2.13.0 is the CPU build; an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

# the ray extra, for EXECUTOR=ray and for the tests of the Ray executor
$(RAY_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,ray]'
	touch $(RAY_STAMP)

pipeline: $(STAMP) $(if $(filter ray,$(EXECUTOR)),$(RAY_STAMP))
	$(PY) -m pipeline run $(DUMP) --config $(CONFIG) $(if $(EXECUTOR),--set executor=$(EXECUTOR)) $(addprefix --set ,$(SET))

test: $(RAY_STAMP)
	$(PY) -m pytest -q

# the tests that run no full pipeline and build no model (under a minute on 2 cores)
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# Retrain the shipped stance models from ../shared/data/stance (deterministic): the one
# that reads MiniLM's vectors (backends torch, onnx, onnx-int8), then the fast mode's (static).
# LABELLED="a.jsonl b.jsonl": your own labelled comments, beside the team's (stance_model/labelled/).
train-stance: $(STAMP)
	$(PY) -m pipeline.stance_model.train --data $(SHARED)/data/stance --out pipeline/stance_model/weights $(addprefix --labelled ,$(LABELLED))
	$(PY) -m pipeline.stance_model.train --data $(SHARED)/data/stance --out pipeline/stance_model/weights_static --embed-backend static $(addprefix --labelled ,$(LABELLED))

# Validation figures of the shipped models on slices kept out of training.
eval-stance: $(STAMP)
	$(PY) -m pipeline.stance_model.evaluate --data $(SHARED)/data/stance --weights pipeline/stance_model/weights
	$(PY) -m pipeline.stance_model.evaluate --data $(SHARED)/data/stance --weights pipeline/stance_model/weights_static --embed-backend static

# In-domain figures: 5-fold cross-validation by article over the labelled news comments,
# which the shipped model trains on whole (five trainings: about 7 minutes on 2 cores with the embeddings cached).
eval-stance-news: $(STAMP)
	$(PY) -m pipeline.stance_model.crossval --data $(SHARED)/data/stance $(addprefix --labelled ,$(LABELLED))

# Speed figures (printed, never asserted in tests).
bench: $(STAMP)
	$(PY) -m bench

clean-cache:
	rm -rf .cache
