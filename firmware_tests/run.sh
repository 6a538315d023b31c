#!/usr/bin/env bash
# Native known-answer tests of the C core on every target a board can be:
#   x86_64          host build, 64-bit limbs (reference)
#   x86_64-limb32   host build with -DZK_FORCE_LIMB32 (the 32-bit-limb path, cheaply)
#   aarch64         aarch64-linux-gnu-gcc, static, run under qemu-aarch64-static (Pi 3/4/5, 64-bit limbs)
#   armhf           arm-linux-gnueabihf-gcc, static, run under qemu-arm-static (Pi 2/Zero 2 on 32-bit OS:
#                   no unsigned __int128 there, so 32-bit limbs without forcing)
#
# Installs what it needs with apt-get when it can (root + apt). When a tool cannot be had it
# skips that target with a clear message, except when CI=true: then a skip is a failure.
#
# Usage: firmware_tests/run.sh [TARGET...]   (default: all four)
# Env:   KAT_JSON=path  vectors (default tests/vectors/kat.json + firmware_tests/kat_extra.json)
#        OUT=dir        build directory (default build/firmware)
#        KAT_TIMEOUT=s  per-run timeout (default 600)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$ROOT/build/firmware}
KAT_TIMEOUT=${KAT_TIMEOUT:-600}
CI=${CI:-false}
PY=${PYTHON:-$(command -v python3 || true)}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(x86_64 x86_64-limb32 aarch64 armhf)
# The warnings of the Python build (native/warnings.flags), as errors.
mapfile -t WARNINGS < <(grep -- '^-' "$ROOT/native/warnings.flags")
CFLAGS=(-O2 -std=c11 "${WARNINGS[@]}" -Werror -pthread -fno-strict-aliasing)

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

declare -A RESULT=() TCOMPILE=() TRUN=()
skipped=0
failed=0

skip() {  # target, reason
  echo "SKIP $1: $2"
  RESULT[$1]="skipped ($2)"
  skipped=$((skipped + 1))
}

# ------------------------------------------------------------------ tools
declare -A NEED_PKGS=(
  [x86_64]="gcc libc6-dev"
  [x86_64-limb32]="gcc libc6-dev"
  [aarch64]="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"
  [armhf]="gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user-static"
)
declare -A CC=(
  [x86_64]=gcc [x86_64-limb32]=gcc
  [aarch64]=aarch64-linux-gnu-gcc [armhf]=arm-linux-gnueabihf-gcc
)
declare -A RUNNER=([x86_64]="" [x86_64-limb32]="" [aarch64]=qemu-aarch64-static [armhf]=qemu-arm-static)
declare -A LIMB=([x86_64]=64 [x86_64-limb32]=32 [aarch64]=64 [armhf]=32)
declare -A EXTRA=([x86_64]="" [x86_64-limb32]="-DZK_FORCE_LIMB32=1" [aarch64]="" [armhf]="")

t0=$(now)
missing=()
for t in "${TARGETS[@]}"; do
  [ -n "${CC[$t]:-}" ] || { echo "unknown target $t (x86_64 x86_64-limb32 aarch64 armhf)"; exit 2; }
  for p in ${NEED_PKGS[$t]}; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 900 apt-get update -qq && \
      timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || echo "apt-get install failed"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "installing with sudo: ${missing[*]}"
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
      sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || echo "apt-get install failed"
  else
    echo "missing packages ${missing[*]} and no root/apt to install them"
  fi
fi
echo "PHASE tools                  $(secs "$t0") s"

# ------------------------------------------------------------------ vectors -> header
t0=$(now)
mkdir -p "$OUT"
if [ -z "$PY" ]; then
  echo "FAIL: no python3 to generate the vector header"
  exit 1
fi
"$PY" "$HERE/gen_vectors.py" ${KAT_JSON:+--json "$KAT_JSON"} "$OUT/kat_vectors.h" || { echo "FAIL: gen_vectors"; exit 1; }
echo "PHASE vectors                $(secs "$t0") s"

# ------------------------------------------------------------------ build (in parallel)
# Compiling the core is the slow part: up to KAT_JOBS (default: the CPU count) at once. A binary
# newer than every source is reused.
build_one() {  # target; writes build.<t>.log, build.<t>.rc and build.<t>.secs
  local t=$1 t0 rc
  t0=$(now)
  # shellcheck disable=SC2086
  timeout 900 "${CC[$t]}" "${CFLAGS[@]}" ${EXTRA[$t]} -static -I"$ROOT/native" -I"$OUT" \
    -o "$OUT/kat.$t" "$ROOT/native/unity.c" "$HERE/kat_main.c" >"$OUT/build.$t.log" 2>&1
  rc=$?
  secs "$t0" >"$OUT/build.$t.secs"
  echo "$rc" >"$OUT/build.$t.rc"
}
JOBS=${KAT_JOBS:-$(nproc 2>/dev/null || echo 2)}
BUILD=()
for t in "${TARGETS[@]}"; do
  if ! command -v "${CC[$t]}" >/dev/null; then skip "$t" "no ${CC[$t]}"; continue; fi
  runner=${RUNNER[$t]}
  if [ -n "$runner" ] && ! command -v "$runner" >/dev/null; then skip "$t" "no $runner"; continue; fi
  BUILD+=("$t")
  exe="$OUT/kat.$t"
  fresh=1
  for src in "$ROOT"/native/*.[ch] "$ROOT"/native/*.inc "$ROOT"/native/generated/*.h \
    "$ROOT"/native/warnings.flags \
    "$HERE/kat_main.c" "$OUT/kat_vectors.h"; do
    [ "$exe" -nt "$src" ] || { fresh=0; break; }
  done
  if [ "$fresh" = 1 ] && [ -f "$OUT/build.$t.rc" ]; then
    echo "== $t: $exe is up to date"
    echo 0 >"$OUT/build.$t.rc"; : >"$OUT/build.$t.log"; echo "-" >"$OUT/build.$t.secs"
    continue
  fi
  rm -f "$exe" "$OUT/build.$t.rc"
  echo "== $t: compiling with ${CC[$t]} ${EXTRA[$t]}"
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  build_one "$t" &
done
t0=$(now)
wait
echo "PHASE build                  $(secs "$t0") s (waiting for the last compiles)"

# ------------------------------------------------------------------ run
for t in "${BUILD[@]}"; do
  runner=${RUNNER[$t]}
  exe="$OUT/kat.$t"
  TCOMPILE[$t]=$(cat "$OUT/build.$t.secs" 2>/dev/null || echo "?")
  if [ "$(cat "$OUT/build.$t.rc" 2>/dev/null || echo 1)" != 0 ]; then
    rm -f "$exe" "$OUT/build.$t.rc"
    if grep -q "cannot find -lc" "$OUT/build.$t.log"; then skip "$t" "no static libc"; continue; fi
    cat "$OUT/build.$t.log"
    RESULT[$t]="FAIL (compile)"; failed=$((failed + 1)); continue
  fi
  if [ -s "$OUT/build.$t.log" ]; then  # the test program and the core must compile warning-free
    cat "$OUT/build.$t.log"; rm -f "$exe" "$OUT/build.$t.rc"
    RESULT[$t]="FAIL (compiler warnings)"; failed=$((failed + 1)); continue
  fi
  t0=$(now)
  echo "== $t: ${runner:+$runner }$exe --expect-limb ${LIMB[$t]}"
  # shellcheck disable=SC2086
  timeout "$KAT_TIMEOUT" $runner "$exe" --expect-limb "${LIMB[$t]}" | tee "$OUT/run.$t.log"
  rc=${PIPESTATUS[0]}
  TRUN[$t]=$(secs "$t0")
  if [ "$rc" = 0 ]; then
    RESULT[$t]="ok: $(tail -1 "$OUT/run.$t.log")"
  else
    RESULT[$t]="FAIL (exit $rc): $(tail -1 "$OUT/run.$t.log")"; failed=$((failed + 1))
  fi
done

# ------------------------------------------------------------------ summary
echo
printf '%-15s %-5s %9s %7s  %s\n' target limbs compile_s run_s result
for t in "${TARGETS[@]}"; do
  printf '%-15s %-5s %9s %7s  %s\n' "$t" "${LIMB[$t]}" "${TCOMPILE[$t]:--}" "${TRUN[$t]:--}" "${RESULT[$t]}"
done
ran=$(( ${#TARGETS[@]} - skipped - failed ))
echo "firmware-test: ${ran} targets passed, ${failed} failed, ${skipped} skipped"
if [ "$failed" -gt 0 ]; then exit 1; fi
if [ "$skipped" -gt 0 ] && [ "$CI" = true ]; then
  echo "FAIL: CI=true and ${skipped} target(s) skipped: CI must run every target"
  exit 1
fi
exit 0
