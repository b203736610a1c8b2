# make pipeline [DUMP=file-or-folder] [CONFIG=file.yaml] [SET="key=value key=value"] [EXECUTOR=ray]
# make test | make test-fast | make train-stance [METHOD=name] [LABELLED=file.jsonl] | make eval-stance | make bench | make docs | make clean-cache
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

.PHONY: pipeline test test-fast setup clean-cache train-stance train-thread-reader eval-stance bench docs

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

# Retrain a stance method from ../shared/data, deterministically (CPU, one thread; docs/stance.md
# gives the time): the default (stance-heads) for MiniLM's vectors (backends torch, onnx,
# onnx-int8) and for the fast mode's (static); a baseline (METHOD=joined-mlp ...) for MiniLM's.
# LABELLED="a.jsonl b.jsonl": your own labelled comments (pipeline/stance_train/labelled/README.md).
METHOD ?= stance-heads
train-stance: $(STAMP)
	$(PY) -m pipeline.stance_train.train --data $(SHARED)/data --method $(METHOD) $(addprefix --labelled ,$(LABELLED))
	$(if $(filter stance-heads,$(METHOD)),$(PY) -m pipeline.stance_train.train --data $(SHARED)/data --method $(METHOD) --embed-backend static $(addprefix --labelled ,$(LABELLED)))
	$(if $(filter stance-heads,$(METHOD)),$(MAKE) train-thread-reader)

# The thread reader (stance.thread) over the shipped pair model: fitted on the labelled news threads in
# ../shared/data/threads, with its figures (each thread read by a reader fitted without it; minutes).
train-thread-reader: $(STAMP)
	$(PY) -m pipeline.stance_train.reader --data $(SHARED)/data
	$(PY) -m pipeline.stance_train.reader --data $(SHARED)/data --embed-backend static

# Validation figures of the shipped model beside the baselines, trained in the same run on the
# same splits (minilm-lr, tfidf-mlp, joined-mlp), on every human-labelled slice, and the thread
# slices through the stage (RumourEval dev threads, the IAC validation authors, the labelled news
# threads with the learning curve), the thread reader beside the pair at a time; then the fast mode's
# (about 10 minutes each on 2 cores with the embeddings cached); then the shipped model on the
# default backend's vectors (embed.backend: auto, what it runs on this machine: torch-bf16 on a CPU with
# AMX bfloat16 tiles, onnx-int8 elsewhere), without baselines (about 3 minutes).
eval-stance: $(STAMP)
	$(PY) -m pipeline.stance_train.evaluate --data $(SHARED)/data
	$(PY) -m pipeline.stance_train.evaluate --data $(SHARED)/data --embed-backend static
	@echo "the default backend's vectors (embed.backend: auto; the model was trained and its card measured on torch's):"
	$(PY) -m pipeline.stance_train.evaluate --data $(SHARED)/data --embed-backend auto --baselines ''


# docs/stance.md's figures, written from the shipped model cards (a test fails where they differ).
docs: $(STAMP)
	$(PY) -m pipeline.stance_train.figures

# Speed figures (printed, never asserted in tests).
bench: $(STAMP)
	$(PY) -m bench

# the run caches (embeddings, stage outputs); the built models stay in models_dir
# (~/.cache/comment-pipeline: rm -rf it to rebuild them, docs/caching.md)
clean-cache:
	rm -rf .cache
