# make pipeline [DUMP=file-or-folder] [CONFIG=file.yaml] [SET="key=value key=value"]
# make test | make train-stance | make eval-stance | make bench | make clean-cache
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DUMP   ?= examples/dumps/elm_street_bike_lane.txt
CONFIG ?= configs/default.yaml
SET    ?=
STAMP  := $(VENV)/.installed

SHARED ?= ../shared

.PHONY: pipeline test setup clean-cache train-stance eval-stance bench

setup: $(STAMP)

# torch first, pinned: 2.13.0 is the CPU build; an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

pipeline: $(STAMP)
	$(PY) -m pipeline run $(DUMP) --config $(CONFIG) $(addprefix --set ,$(SET))

test: $(STAMP)
	$(PY) -m pytest -q

# Retrain the shipped stance model from ../shared/data/stance (deterministic).
train-stance: $(STAMP)
	$(PY) -m pipeline.stance_model.train --data $(SHARED)/data/stance --out pipeline/stance_model/weights

# Validation figures of the shipped model on slices kept out of training.
eval-stance: $(STAMP)
	$(PY) -m pipeline.stance_model.evaluate --data $(SHARED)/data/stance --weights pipeline/stance_model/weights

# Speed figures (printed, never asserted in tests).
bench: $(STAMP)
	$(PY) -m bench

clean-cache:
	rm -rf .cache
