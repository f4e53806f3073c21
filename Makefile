# Two commands get a fresh machine going: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-grouping test install bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
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
