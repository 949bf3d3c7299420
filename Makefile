# CanvasEdit: `make run` opens the editor on the bundled sample with the bundled model; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
BASE := $(VENV)/.canvasedit-base
TESTDEPS := $(VENV)/.canvasedit-test

.PHONY: run test bench fill-demo dist install-check app app-smoke clean

$(BASE): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip "setuptools>=68"
	# torch first and pinned: an unpinned torch requirement would pull a multi-GB CUDA build on CPU machines.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e .
	touch $(BASE)

# Test extras include llama-cpp-python, which compiles llama.cpp from source the first time (~7 min on 2 cores).
$(TESTDEPS): $(BASE)
	$(PY) -m pip install -q -e ".[test]"
	touch $(TESTDEPS)

# The editor opens a copy (made once, kept between runs): saving never edits the tracked sample.
run: $(BASE)
	@mkdir -p build/try
	@test -e build/try/example.py || cp samples/example.py build/try/example.py
	$(VENV)/bin/canvasedit build/try/example.py

test: $(TESTDEPS)
	TRITON_INTERPRET=1 HF_HUB_OFFLINE=1 $(PY) -m pytest -q

bench: $(TESTDEPS)
	$(VENV)/bin/canvasedit bench

fill-demo: $(BASE)
	$(VENV)/bin/canvasedit fill samples/example.py --hole 12:5-12:5:8 --stream

# Wheel and sdist in dist/ (what PyPI, pipx and uv install).
dist: $(TESTDEPS)
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .

# pipx and uv tool installs of the wheel, each smoke-tested (downloads the dependencies; EXTRAS=gguf for GGUF).
install-check: dist
	PATH="$(abspath $(VENV))/bin:$$PATH" PYTHON="$(abspath $(PY))" bash packaging/install-check.sh dist/canvasedit-*.whl $(EXTRAS)

# The PyInstaller one-folder app in build/app/canvasedit/ (about 1 GB with torch), and its smoke test.
app: $(BASE)
	$(PY) -m pip install -q "pyinstaller>=6.10"
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath build/app --workpath build/pyinstaller \
		packaging/canvasedit.spec

app-smoke: app
	bash packaging/smoke.sh build/app/canvasedit/canvasedit

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
