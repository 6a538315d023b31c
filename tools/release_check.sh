#!/usr/bin/env bash
# The release artefacts as a user gets them (`make release-check`):
#   1. the sdist (`python -m build --sdist`) from a copy of the working tree's files; it must
#      hold the build inputs (native/, the cffi build script, the demo circuit, LICENSE)
#   2. a new venv outside the checkout; the sdist installed in it in pip's own two steps, so the
#      wheel can be looked at in between (`pip wheel` of the sdist: the C core is compiled
#      there; it must hold zkedge._native and never the test-only zkedge._native32), then
#      `pip install` of that wheel
#   3. from a directory outside the checkout: `zkedge selftest`, `zkedge demo` (PATH without
#      snarkjs, so the demo says it skips the cross-check), `zkedge verify` of the demo's proof
#   4. the operator's board suite (docs/raspberry-pi.md step 3): `pytest firmware_tests` from a
#      root-owned copy of the checkout, run by an unprivileged user against that venv (needs
#      root; skipped with a message otherwise)
# Every phase prints "PHASE <name> <seconds>"; every step runs under `timeout`; a failure ends
# the run with "FAIL: ..." and exit 1.
#
# Env: PY=python with `build` installed (default .venv/bin/python), WORK=dir (default
#      build/release-check, emptied first), BOARD_USER=user for step 4 (default nobody).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO"
PY=${PY:-$REPO/.venv/bin/python}
WORK=${WORK:-$REPO/build/release-check}
BOARD_USER=${BOARD_USER:-nobody}

ts() { date +%s.%N; }
T_ALL=$(ts)
phase() { awk -v n="$1" -v a="$2" -v b="$(ts)" 'BEGIN{printf "PHASE %-26s %7.1f s\n", n, b-a}'; }
fail() { echo "FAIL: $*"; exit 1; }
run() {  # timeout-seconds log-name command...: runs it, shows the log's tail if it fails
  local limit=$1 log=$WORK/$2.log
  shift 2
  timeout "$limit" "$@" >"$log" 2>&1 || { tail -40 "$log"; fail "$* (log: $log)"; }
}

[ -x "$PY" ] || fail "no $PY (run 'make venv' first)"
rm -rf --one-file-system "$WORK"
mkdir -p "$WORK/src" "$WORK/dist" "$WORK/elsewhere"

# ------------------------------------------------------------------ 1. sdist
t=$(ts)
# setuptools walks every file under the project before applying MANIFEST.in, and build/ can
# hold an ARM rootfs: build from a copy of the tracked and new files.
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done \
  | tar --null -T - -cf - | tar -xf - -C "$WORK/src"
run 600 build "$PY" -m build --sdist --outdir "$WORK/dist" "$WORK/src"
SDIST=$(ls "$WORK"/dist/zkedge-*.tar.gz)
sdist_files=$(tar -tzf "$SDIST" | sed 's|^[^/]*/||')
for f in LICENSE CHANGELOG.md setup.py pyproject.toml native/build_ffi.py native/unity.c \
    native/zkedge.h zkedge/_data/bn128/circuit.zkey zkedge/_data/bn128/witness.wtns \
    zkedge/_data/bn128/verification_key.json; do
  grep -qx "$f" <<<"$sdist_files" || fail "the sdist lacks $f"
done
echo "sdist $(du -h "$SDIST" | cut -f1)"
phase sdist "$t"

# ------------------------------------------------------------------ 2. clean venv, install sdist
t=$(ts)
VENV=$WORK/venv
run 300 venv "$PY" -c "import venv; venv.create('$VENV', with_pip=True)"
run 1800 wheel "$VENV/bin/pip" wheel --no-deps --wheel-dir "$WORK/dist" "$SDIST"
WHEEL=$(ls "$WORK"/dist/zkedge-*.whl)
wheel_files=$("$PY" -m zipfile -l "$WHEEL")
grep -q "zkedge/_native\." <<<"$wheel_files" || fail "the wheel lacks zkedge._native"
if grep -q "_native32" <<<"$wheel_files"; then fail "the wheel holds the test-only _native32"; fi
grep -q "zkedge/_data/bn128/circuit.zkey" <<<"$wheel_files" || fail "the wheel lacks the demo"
echo "wheel $(du -h "$WHEEL" | cut -f1)"
phase "pip wheel (sdist)" "$t"
t=$(ts)
run 1800 install "$VENV/bin/pip" install "$WHEEL"
phase "pip install" "$t"

# ------------------------------------------------------------------ 3. the installed commands
t=$(ts)
cd "$WORK/elsewhere"
CLEAN_PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
run 600 selftest env -u PYTHONPATH PATH="$CLEAN_PATH" zkedge selftest
grep -q "RESULT: PASS" "$WORK/selftest.log" || fail "selftest did not pass"
if env PATH="$CLEAN_PATH" sh -c 'command -v snarkjs' >/dev/null; then
  echo "(a snarkjs on PATH: the demo runs its cross-check)"
fi
run 900 demo env -u PYTHONPATH PATH="$CLEAN_PATH" zkedge demo --out "$WORK/elsewhere/out"
grep -q "demo PASSED" "$WORK/demo.log" || fail "demo did not pass"
grep -E "snarkjs" "$WORK/demo.log" || fail "the demo says nothing about its snarkjs cross-check"
run 120 verify env -u PYTHONPATH PATH="$CLEAN_PATH" zkedge verify \
  "$("$VENV/bin/python" -c 'from zkedge.groth16.demo import demo_circuit; print(demo_circuit())')/verification_key.json" \
  out/public.json out/proof.json
"$VENV/bin/python" -c 'import zkedge, sys; sys.exit("/src/" in zkedge.__file__)' \
  || fail "the venv imports zkedge from the source copy"
cd "$REPO"
phase "selftest + demo + verify" "$t"

# ------------------------------------------------------------------ 4. the operator's board suite
t=$(ts)
if [ "$(id -u)" != 0 ] || ! id "$BOARD_USER" >/dev/null 2>&1; then
  echo "SKIP board suite: needs root and a user '$BOARD_USER' to run it unprivileged"
else
  run 600 pytest-install "$VENV/bin/pip" install pytest pytest-trio
  # the checkout as the docs have it: cloned by root, read by the unprivileged user
  chmod -R a+rX "$WORK"
  set +e
  (cd "$WORK/src" && timeout 1800 runuser -u "$BOARD_USER" -- env -i PATH="$CLEAN_PATH" \
    LANG=C.UTF-8 ZKEDGE_FIRMWARE_EMULATION=0 "$VENV/bin/pytest" firmware_tests) \
    >"$WORK/board-suite.log" 2>&1
  rc=$?
  set -e
  tail -5 "$WORK/board-suite.log"
  [ "$rc" = 0 ] || { tail -60 "$WORK/board-suite.log"; fail "board suite as $BOARD_USER exited $rc"; }
  if grep -q "failed" "$WORK/board-suite.log"; then fail "board suite reports failures"; fi
fi
phase "board suite (unprivileged)" "$t"

phase total "$T_ALL"
echo "release-check: PASS"
