# CanvasEdit: `make run` opens the editor on the bundled sample with the bundled model; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.canvasedit-installed

.PHONY: run test bench fill-demo clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip "setuptools>=68"
	# torch first and pinned: an unpinned torch requirement would pull a multi-GB CUDA build on CPU machines.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/canvasedit samples/example.py

test: $(STAMP)
	TRITON_INTERPRET=1 HF_HUB_OFFLINE=1 $(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/canvasedit bench

fill-demo: $(STAMP)
	$(VENV)/bin/canvasedit fill samples/example.py --hole 12:5-12:5:8 --stream

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
