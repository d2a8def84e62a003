# Sustain: the two commands of the README, and the checks they rest on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := examples/race-for-logistics

.PHONY: demo test lint typecheck bench fuzz clean

$(BIN)/sustain: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/sustain
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

DEMO := build/demo

demo: $(BIN)/sustain
	$(BIN)/sustain validate $(EXAMPLE)
	$(BIN)/sustain info $(EXAMPLE)
	$(BIN)/sustain plan $(EXAMPLE) --top 8 --out $(DEMO)/plan --force
	$(BIN)/sustain industry $(EXAMPLE) --out $(DEMO)/industry --force
	$(BIN)/sustain simulate $(EXAMPLE) --replications 256 --top 8 --out $(DEMO)/simulation --force
	$(BIN)/sustain resilience $(EXAMPLE) --top 8 --out $(DEMO)/resilience --force
	$(BIN)/sustain report $(EXAMPLE) --plan $(DEMO)/plan --industry $(DEMO)/industry \
		--simulation $(DEMO)/simulation --resilience $(DEMO)/resilience \
		--out $(DEMO)/report.html --force

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

# The long fuzz campaign of tests/test_fuzz.py (docs/robustness.md); CI runs 300 cases.
fuzz: $(VENV)/.dev-installed
	SUSTAIN_FUZZ_CASES=$${SUSTAIN_FUZZ_CASES:-10000} $(BIN)/pytest tests/test_fuzz.py -q \
		-k mutated --hypothesis-show-statistics --hypothesis-seed=$${SEED:-0}

bench: $(VENV)/.dev-installed demo  # report_library.py reads the demo's runs
	$(BIN)/pip install --quiet 'pyomo>=6.7,<7' 'simpy>=4.1,<5' \
		'altair==6.3.0' 'vl-convert-python==1.9.0.post1'  # references, benchmarks only
	$(BIN)/python benchmarks/compile_network.py
	$(BIN)/python benchmarks/plan_ladder.py --methods-rung 0
	$(BIN)/python benchmarks/lexicographic.py --rungs 1
	$(BIN)/python benchmarks/simulate_ladder.py
	$(BIN)/python benchmarks/provenance.py
	PYTHONPATH=. $(BIN)/python benchmarks/report.py --items 2 --weeks 13
	PYTHONPATH=. $(BIN)/python benchmarks/report_library.py $(DEMO)
	$(BIN)/python benchmarks/resilience_ladder.py --quick

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
