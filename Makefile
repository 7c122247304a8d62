# Tether: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
# Parallel test workers (the machine has 2 cores; peers are I/O bound).
WORKERS ?= 4

.PHONY: setup demo test lint bench proto

setup:
	@scripts/setup.sh

## The main job on the embedded default: simulated switches, tetherd, commands run twice.
demo: setup
	@$(PYTHON) scripts/demo.py

## The whole test suite (installs and starts its own peers).
test: setup lint
	$(PYTHON) -m pytest -n $(WORKERS) --dist loadgroup -q

# mypy sees the collection under its real import path through a link tree in .tether-run/.
lint: setup
	ruff check service plugins tests bench scripts
	ruff format --check service plugins tests bench scripts
	cd service && mypy --config-file ../mypy.ini -p tether
	mkdir -p .tether-run/mypy/ansible_collections/tether
	ln -sfn ../../../.. .tether-run/mypy/ansible_collections/tether/fleet
	MYPYPATH=.tether-run/mypy:service mypy --config-file mypy.ini --explicit-package-bases -p ansible_collections.tether.fleet.plugins

## Benchmarks: the service against netmiko directly, then playbooks against network_cli.
bench: setup
	$(PYTHON) bench/bench_service.py
	bench/setup_baseline.sh
	$(PYTHON) bench/bench_playbooks.py

proto:
	proto/generate.sh
