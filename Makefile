# Two entry points for a fresh machine (see README): `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DEVICES ?= 20

.PHONY: setup demo test lint clean

setup: $(BIN)/hib

$(BIN)/hib: pyproject.toml
	bash .ci/setup.sh $(VENV)
	@touch $@

demo: setup
	bash .ci/demo.sh $(VENV) $(DEMO_DEVICES)

test: setup
	$(BIN)/ruff check .
	bash .ci/with-postgres.sh $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

clean:
	-$(BIN)/hib lab down
	rm -rf .hib
