# Two commands get a fresh machine going: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-grouping test install bench clean

$(STAMP): requirements.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@# A test reference only: xtcocotools, CrowdPose's evaluator as mmpose runs it. Its wheel is built
	@# against numpy 1, so it is compiled here (about 10 s); if that fails, its one test skips.
	-$(PY) -m pip install --quiet cython setuptools && \
	  $(PY) -m pip install --quiet --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) train.py lifting --epochs 3 --out runs/demo
	$(PY) evaluate.py lifting --checkpoint runs/demo/best.pt --out runs/demo/eval --viz 3

demo-grouping: $(STAMP)
	$(PY) train.py grouping --out runs/demo-grouping
	$(PY) evaluate.py grouping --checkpoint runs/demo-grouping/best.pt --annotations runs/demo-grouping/annotations.json --split val --viz 2

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) bench/lifting.py
	$(PY) bench/grouping.py

clean:
	rm -rf runs .cache
