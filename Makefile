# The two set-up commands of README.md. Both create .venv and install everything on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

# Teacher CNN -> MLP student with soft-target KL on scikit-learn's 8x8 digits (offline; about 20 s on 2 CPU cores,
# a few minutes with the first install).
demo: install
	$(PY) -m kd.vision.scripts.quickstart

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
