# zkedge: `make demo` runs the main job, `make test` everything CI checks.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.zkedge-installed
NODE_DIR := tests/fixtures
NODE_STAMP := $(NODE_DIR)/node_modules/.zkedge-installed

.PHONY: all venv native node proto proto-check lint typecheck pytest pytest-limb32 test docs demo \
        bench bench-groth16 firmware-test firmware-test-full release-check clean header-check format \
        format-check clang-format chromium status-screenshot

all: venv

$(VPY):
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel

# Reinstall when the packaging or the C sources change (editable install compiles native/).
# ZKEDGE_BUILD_NATIVE32=1: also build zkedge._native32 (forced 32-bit limbs) for pytest-limb32;
# release builds (sdist, wheel) ship only zkedge._native.
# A module left by a manual `python native/build_ffi.py` (named .cpython-3XX-...so) would shadow
# the one pip builds (.abi3.so): remove it first. ZKEDGE_WERROR=1: a warning in our C
# (native/warnings.flags) fails the build here and in CI; a plain pip install only prints it.
NATIVE_SRC := $(wildcard native/*.c native/*.h native/*.inc native/generated/*.h native/*.flags)
$(STAMP): $(VPY) pyproject.toml setup.py native/build_ffi.py $(NATIVE_SRC)
	rm -f zkedge/_native*.cpython-*.so
	ZKEDGE_WERROR=1 ZKEDGE_BUILD_NATIVE32=1 $(VPY) -m pip install -q -e '.[dev,bench]'
	touch $@

venv: $(STAMP)

native: $(STAMP)

$(NODE_STAMP): $(NODE_DIR)/package.json
	cd $(NODE_DIR) && npm install --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_STAMP)

proto: venv
	$(VPY) tools/gen_proto.py

proto-check: venv
	$(VPY) tools/gen_proto.py --check

lint: venv header-check format-check
	$(VENV)/bin/ruff check zkedge tests bench tools firmware_tests native
	$(VENV)/bin/ruff format --check zkedge tests bench tools firmware_tests native
	$(VPY) tools/gen_consts.py --check
	$(VPY) tools/gen_mont_asm.py --check
	$(VPY) firmware_tests/gen_selftest_kat.py --check

# Every header compiles on its own (includes what it needs), with 64-bit and 32-bit limbs. The
# *.inc files are templates, included several times with parameters set (see their first lines).
WARNINGS := $(shell grep -- '^-' native/warnings.flags)
header-check:
	@for h in native/*.h native/generated/*.h; do \
	  for v in "" -DZK_FORCE_LIMB32; do \
	    echo "#include \"$$h\"" | $(CC) $$v -std=c11 -fsyntax-only $(WARNINGS) -Werror -xc \
	      -I native - \
	      || { echo "$$h $$v does not compile on its own"; exit 1; }; \
	  done; \
	done

# C formatting (.clang-format; native/generated/ is left to its generators). The check expects
# Debian bookworm's clang-format 14: other major versions may lay out a few lines differently.
C_SOURCES := $(wildcard native/*.c native/*.h native/*.inc firmware_tests/*.c bench/*.c)

# clang-format from apt when missing, as root or through passwordless sudo.
clang-format:
	@command -v clang-format >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo="sudo -n"; fi; \
	  echo "installing clang-format"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    clang-format >/dev/null; \
	}

# Headless chromium from apt when missing (the status page's browser test; its test skips
# with a message where there is none), as root or through passwordless sudo.
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo="sudo -n"; fi; \
	  echo "installing chromium"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium >/dev/null; \
	}

format: clang-format
	clang-format -i $(C_SOURCES)

format-check: clang-format
	clang-format --dry-run --Werror $(C_SOURCES)

typecheck: venv
	$(VENV)/bin/mypy zkedge tests tools bench firmware_tests

# tests/ plus the board suite's config-file tests (the rest of firmware_tests/ needs a board,
# or repeats `make firmware-test`).
pytest: venv node chromium
	$(VENV)/bin/pytest -q tests firmware_tests/test_config_file.py

# The same native tests against the forced 32-bit-limb build (the armv6/armv7 code path).
pytest-limb32: venv
	ZKEDGE_NATIVE=32 $(VENV)/bin/pytest -q -m "not slow" tests/native

test: venv proto-check lint typecheck docs pytest pytest-limb32 firmware-test

# API reference from the docstrings (pdoc) into build/docs/; any pdoc warning (a docstring it
# cannot parse, an annotation it cannot resolve, a module it cannot import) fails the build.
docs: venv
	rm -rf build/docs
	$(VPY) tools/build_docs.py --out build/docs

# Native known-answer tests (firmware_tests/): the C core cross-compiled for aarch64 (64-bit
# limbs) and armhf (32-bit limbs, no __int128) and run under qemu-user, plus x86-64 builds
# (64-bit and forced 32-bit limbs). Installs its apt packages when missing; skips a target it
# cannot build with a message, but fails instead under CI=true.
firmware-test:
	PYTHON=$(PY) bash firmware_tests/run.sh

# A real aarch64 Python run (tools/arm64_rootfs.sh): debootstrap arm64 rootfs (cached in
# build/arm), the sdist pip-installed in it as a Raspberry Pi OS user would, `zkedge selftest`,
# and a worker in the chroot completing MSM tasks for a coordinator on the host. Needs root.
# From nothing: debootstrap 6-10 min and the emulated compile of the core 5-10 min on a 2-core
# host (longer on a busy one); with build/arm cached and the sdist unchanged, about a minute.
firmware-test-full: venv
	timeout 3600 bash tools/arm64_rootfs.sh

# The release artefacts as users get them (tools/release_check.sh): sdist + wheel, the sdist
# installed in a clean venv, `zkedge selftest` / `demo` / `verify` outside the checkout, and
# the board suite run by an unprivileged user against that install (when run as root).
release-check: venv
	timeout 3600 bash tools/release_check.sh

demo: venv node
	$(VPY) -m zkedge demo

# The coordinator's status page with a demo fleet (3 in-process workers, finished, cancelled
# and running jobs), as headless chromium draws it: build/status.png.
status-screenshot: venv chromium
	$(VPY) tools/status_screenshot.py --out build/status.png

# MSM table against py_ecc, ffjavascript (bench/ installs it with npm) and arkworks; ~6 min.
bench: venv node
	$(VPY) bench/msm.py

# Groth16 at 2^12..2^16 constraints: zkedge local (1 and all threads), 2 workers, snarkjs.
bench-groth16: venv node
	$(VPY) bench/groth16.py

clean:
	rm -rf build dist *.egg-info zkedge/_native*.so zkedge/_native*.c .pytest_cache .mypy_cache

# Fleet benchmarks: pinned workers + CPU burner at n = 2^18; 500 simulated workers.
.PHONY: bench-fleet
bench-fleet: venv
	$(VPY) bench/fleet.py
	$(VPY) bench/coordinator_load.py --duration 120
