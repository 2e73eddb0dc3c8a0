# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install system-deps demo check test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[s3,postgres,ray,torch,nlp,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gazer demo

check: $(STAMP)
	$(VENV)/bin/gazer demo --check

# Debian packages the integration tests use; installed when missing and running as root.
system-deps:
	@need=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$$need postgresql"; \
	command -v chromium >/dev/null 2>&1 || need="$$need chromium"; \
	[ -d /usr/share/datasets/fashion-mnist ] || need="$$need dataset-fashion-mnist"; \
	command -v apertium >/dev/null 2>&1 || need="$$need apertium"; \
	command -v tesseract >/dev/null 2>&1 || need="$$need tesseract-ocr"; \
	command -v haproxy >/dev/null 2>&1 || need="$$need haproxy"; \
	for pair in eng-cat fra-cat cat-ita; do \
	  [ -d /usr/share/apertium/apertium-$$pair ] || need="$$need apertium-$$pair"; done; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$need; \
	  else echo "missing Debian packages:$$need (run: sudo apt-get install$$need)"; exit 1; fi; \
	fi

test: $(STAMP) system-deps
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not integration"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports
	$(VENV)/bin/bandit -q -r src -c pyproject.toml

bench: $(STAMP)
	$(PY) benchmarks/pipeline_overhead.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/characters.py
	$(PY) benchmarks/summarizer.py
	$(PY) benchmarks/wordpredict.py
	$(PY) benchmarks/enrichment.py
	$(PY) benchmarks/papers.py
	$(PY) benchmarks/scale_out.py

clean:
	rm -rf $(VENV) .gazer .pytest_cache .mypy_cache .ruff_cache
