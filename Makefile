# Set-up and entry points. `make study` and `make test` install what they need
# into .venv on first use (Python 3.11, no GPU needed).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: study cross-study test lint format dag clean-venv

$(BIN)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 not found as '$(PYTHON)'; run: make PYTHON=/path/to/python3.11 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# schnetpack 2.2.0 declares Python>=3.12 yet runs on 3.11; its declared
	# pins conflict with torch 2.13, so its dependencies come from requirements.txt.
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python schnetpack==2.2.0
	touch $@

study: $(BIN)/.installed
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)

# the baseline of each property x network of config cross_study, then their comparison
cross-study: $(BIN)/.installed
	$(BIN)/python -m workflow_scripts.run_cross_study --profile profiles/local --cores $(CORES)

test: $(BIN)/.installed
	$(BIN)/python -m pytest tests

lint: $(BIN)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules

format: $(BIN)/.installed
	$(BIN)/snakefmt Snakefile rules

dag: $(BIN)/.installed
	$(BIN)/snakemake --rulegraph | dot -Tpng -Gdpi=80 > docs/rulegraph.png

clean-venv:
	rm -rf $(VENV)
