# Two entry points for a fresh machine (see README): `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DEVICES ?= 20

# The other end of the supported range (pyproject.toml): a second venv on Python 3.13 with the
# newest ansible-core runs the end-to-end backup, recorder and `hib run` tests after the main suite.
ALT_VENV ?= .venv-py313
ALT_PYTHON ?= 3.13
# (~4 min with the venv on 2 cores: the whole device backup file, the recorder's end-to-end test,
# and the `hib run` tests that touch what differs between ansible-core versions.)
HIB_RUN_TEST := tests/orchestration/test_hib_run.py
ALT_TESTS ?= tests/integration/test_device_backup.py tests/recording/test_lab_backup.py \
	$(HIB_RUN_TEST)::test_run_json_matches_contract_and_second_run_changes_nothing \
	$(HIB_RUN_TEST)::test_linear_and_fleet_strategies_store_the_same_configs \
	$(HIB_RUN_TEST)::test_bad_inventory_and_bad_usage_exit_2 \
	$(HIB_RUN_TEST)::test_sigint_cancels_keeps_completed_hosts_and_exits_3 \
	$(HIB_RUN_TEST)::test_no_secret_reaches_runner_artifacts_db_or_output

.PHONY: setup demo test test-alt lint sanity clean

setup: $(BIN)/hib

$(BIN)/hib: pyproject.toml
	bash .ci/setup.sh $(VENV)
	@touch $@

demo: setup
	bash .ci/demo.sh $(VENV) $(DEMO_DEVICES)

test: setup
	$(BIN)/ruff check .
	bash .ci/with-postgres.sh $(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-alt

# Skips with one line (from setup-alt.sh) when no Python $(ALT_PYTHON) can be found or installed.
test-alt:
	bash .ci/setup-alt.sh $(ALT_VENV) $(ALT_PYTHON)
	if [ -x $(ALT_VENV)/bin/python ]; then $(ALT_VENV)/bin/python -m pytest $(PYTEST_ARGS) $(ALT_TESTS); fi

lint: setup
	$(BIN)/ruff check .

# The collection checks alone (also part of `make test`): ansible-test sanity, ansible-lint,
# antsibull-changelog lint, ansible-doc of every plugin, on the built collection (docs/collection.md).
sanity: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/collection

clean:
	-$(BIN)/hib lab down
	rm -rf .hib
