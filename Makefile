# Two commands get a fresh machine going: `make demo` and `make test` (README.md).
#
# Where it installs: an active conda environment or virtualenv that already has torch (e.g. one
# made from environment.yml) is used as it is; otherwise `.venv` is created here, with
# TORCH_SPEC installed first from TORCH_PIP_ARGS' index, e.g. a CPU-only build:
#   make demo TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=

ACTIVE_ENV := $(or $(CONDA_PREFIX),$(VIRTUAL_ENV))
USE_ACTIVE := $(shell test -n "$(ACTIVE_ENV)" && "$(ACTIVE_ENV)/bin/python" -c "import torch" 2>/dev/null && echo yes)
ifeq ($(USE_ACTIVE),yes)
PY := $(ACTIVE_ENV)/bin/python
STAMPS := .cache/env$(subst /,_,$(ACTIVE_ENV))
else
PY := .venv/bin/python
STAMPS := .venv
endif
RUN_STAMP := $(STAMPS)/.installed
TEST_STAMP := $(STAMPS)/.installed-test

.PHONY: demo demo-grouping demo-pipeline test install bench env clean clean-cache

$(RUN_STAMP): requirements.txt Makefile
ifneq ($(USE_ACTIVE),yes)
	test -x $(PY) || $(PYTHON) -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
endif
	$(PY) -m pip install --quiet -r requirements.txt
	mkdir -p $(STAMPS) && touch $@

# Test-only needs. xtcocotools is a test reference only (CrowdPose's evaluator as mmpose runs
# it); its wheel is built against numpy 1, so it is compiled here (about 10 s); if that fails,
# its one test skips.
$(TEST_STAMP): $(RUN_STAMP) requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	-$(PY) -m pip install --quiet --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
	touch $@

install: $(RUN_STAMP)

env:
	@echo "python: $(PY)"; $(PY) -c "import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda)"

# The demos start their runs afresh each time (--overwrite): `make demo` twice works.
demo: $(RUN_STAMP)
	$(PY) train.py lifting --epochs 3 --out runs/demo --overwrite
	$(PY) evaluate.py lifting --checkpoint runs/demo/best.pt --out runs/demo/eval --viz 3

demo-grouping: $(RUN_STAMP)  # about 10 minutes on 2 idle cores (16 draws per image)
	$(PY) train.py grouping --out runs/demo-grouping --overwrite
	$(PY) evaluate.py grouping --checkpoint runs/demo-grouping/best.pt --annotations runs/demo-grouping/annotations.json --split val --viz 2

# Multi-person 3D on 5 new built-in scenes: the lifting demo's checkpoint (made when missing) and
# the grouping demo's classifier when it exists, else the shipped coco-ae.
demo-pipeline: $(RUN_STAMP)
	test -f runs/demo/best.pt || $(MAKE) demo
	$(PY) bench/write_maps.py --scenes 5 --seed 7 --out runs/demo-pipeline/maps
	$(PY) predict.py pipeline --lifting runs/demo/best.pt --maps runs/demo-pipeline/maps --out runs/demo-pipeline \
		--viz 2 --grouping $$(ls runs/demo-grouping/best.pt 2>/dev/null || echo coco-ae)

test: $(TEST_STAMP)
	$(PY) -m pytest -q tests

bench: $(RUN_STAMP)
	$(PY) bench/lifting.py
	$(PY) bench/grouping.py

# runs/ (the demos' and your runs in it) and the local install stamps; clean-cache: PoseGraph's
# cache of rebuildable data (built graphs, the built-in data, compiled classifiers; `core.cache_dir`)
clean:
	rm -rf runs .cache

clean-cache:
	@dir=$$($(PY) -c "from core.cache_dir import cache_dir; print(cache_dir())") && du -sh "$$dir" 2>/dev/null; \
		rm -rf "$$dir" && echo "removed $$dir"
