#!/usr/bin/env bash
# A real aarch64 Python run of zkedge under emulation (`make firmware-test-full`):
#   1. host packages (qemu-user-static, debootstrap) and binfmt_misc registration of qemu-aarch64
#      (qemu-arm with ARCH=armhf)
#   2. a Debian bookworm arm64 rootfs made with debootstrap, cached in build/arm/rootfs-arm64
#      (reused when present; built in a .tmp directory and renamed, so a killed run leaves no
#      half rootfs behind)
#   3. the sdist built from the working tree on the host (`python -m build --sdist`)
#   4. in the chroot, as a Raspberry Pi OS user installs it: a venv of the rootfs' Python 3.11 and
#      `pip install zkedge-X.tar.gz` with bookworm's pip and build isolation (pip fetches the
#      setuptools, wheel and cffi that pyproject.toml asks for, bookworm's own setuptools 66 is
#      too old for it; the dependencies are aarch64 wheels, the C core is compiled by the
#      rootfs' gcc)
#   5. import it (and not the test-only zkedge._native32), run `zkedge selftest`
#   6. a worker inside the chroot joins a coordinator on the host (127.0.0.1 is shared) and
#      completes MSM jobs; the results are checked against a host-side local MSM
#      (firmware_tests/arm_roundtrip.py)
# Every phase prints "PHASE <name> <seconds>". Needs root (debootstrap, chroot, mounts).
# When root/apt/network are missing it skips with a message, except under CI=true (then fails).
# Every step runs under `timeout`; any failure ends the run with "FAIL: ..." and exit 1.
#
# ARCH=armhf runs the same in an armhf (32-bit, armv7l) rootfs with docs/raspberry-pi.md's
# 32-bit packages (g++, libffi-dev: pip compiles cffi and others there); not part of CI.
#
# Env: ARCH=arm64|armhf (default arm64), ROOTFS=dir (default build/arm/rootfs-$ARCH),
#      MIRROR=url (default: the first Debian archive in the host's own apt sources),
#      PY=host python with zkedge and `build` installed (default .venv/bin/python),
#      RT_POINTS=points per round-trip MSM (default 20000), KEEP_ROOTFS=0 to delete it after.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO"
ARCH=${ARCH:-arm64}
case "$ARCH" in
  arm64) QEMU=qemu-aarch64; MACHINE=aarch64; EXTRA_PKGS= ;;
  armhf) QEMU=qemu-arm; MACHINE=armv7l; EXTRA_PKGS=,g++,libffi-dev ;;
  *) echo "FAIL: ARCH=$ARCH (arm64 or armhf)"; exit 1 ;;
esac
ROOT=${ROOTFS:-$REPO/build/arm/rootfs-$ARCH}
PY=${PY:-$REPO/.venv/bin/python}
CI=${CI:-false}
RT_POINTS=${RT_POINTS:-20000}
LOG=$REPO/build/arm
mkdir -p "$LOG"

ts() { date +%s.%N; }
host_mirror() {  # the first archive (not -security) in the host's apt sources, deb822 or one-line
  # (either kind of file may be missing: with pipefail a failed cat would end the script here)
  local uris
  uris=$(
    { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } \
      | awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }'
    { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
      | sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p'
  )
  printf '%s\n' "$uris" | grep -v -e '-security' | head -1 || true
}
T_ALL=$(ts)
phase() { awk -v n="$1" -v a="$2" -v b="$(ts)" 'BEGIN{printf "PHASE %-26s %7.1f s\n", n, b-a}'; }
skip() {
  echo "SKIP firmware-test-full: $*"
  if [ "$CI" = true ]; then echo "FAIL: CI=true, the $MACHINE run may not be skipped"; exit 1; fi
  exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot, binfmt_misc)"
[ -x "$PY" ] || skip "no host Python at $PY (run 'make venv' first)"

# ------------------------------------------------------------------ 1. host tools + binfmt
t=$(ts)
export DEBIAN_FRONTEND=noninteractive
if ! command -v "$QEMU-static" >/dev/null || ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || skip "no apt-get to install qemu-user-static and debootstrap"
  timeout 900 apt-get update -qq && \
    timeout 900 apt-get install -y -qq --no-install-recommends qemu-user-static debootstrap >/dev/null \
    || skip "could not install qemu-user-static/debootstrap"
fi
# No systemd here to register the handlers: mount binfmt_misc and register $QEMU from the
# file qemu-user-static ships (flags F: the host binary is used inside the chroot too).
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
  || skip "cannot mount binfmt_misc"
if [ ! -e "/proc/sys/fs/binfmt_misc/$QEMU" ]; then
  conf=/usr/lib/binfmt.d/$QEMU.conf
  [ -f "$conf" ] || skip "no $conf"
  cat "$conf" > /proc/sys/fs/binfmt_misc/register
fi
echo 1 > "/proc/sys/fs/binfmt_misc/$QEMU"
phase host-tools "$t"

MOUNTS=(work/src proc sys dev/pts dev)
cleanup() {
  local rc=$?
  [ -n "${WORKER_PID:-}" ] && kill "$WORKER_PID" 2>/dev/null && wait "$WORKER_PID" 2>/dev/null
  [ -n "${COORD_PID:-}" ] && kill "$COORD_PID" 2>/dev/null && wait "$COORD_PID" 2>/dev/null
  for m in "${MOUNTS[@]}"; do if mountpoint -q "$ROOT/$m"; then umount -l "$ROOT/$m"; fi; done
  return $rc
}
trap cleanup EXIT
for m in "${MOUNTS[@]}"; do if mountpoint -q "$ROOT/$m"; then umount -l "$ROOT/$m"; fi; done  # a killed run

# ------------------------------------------------------------------ 2. rootfs (cached)
t=$(ts)
if [ -x "$ROOT/usr/bin/python3" ] && [ -x "$ROOT/usr/bin/gcc" ]; then
  echo "reusing $ROOT ($(du -sh "$ROOT" 2>/dev/null | cut -f1))"
else
  MIRROR=${MIRROR:-$(host_mirror)}
  [ -n "$MIRROR" ] || skip "no Debian mirror in the host's apt sources: set MIRROR=URL"
  TMP="$ROOT.tmp"
  if grep -q " $TMP" /proc/self/mountinfo; then echo "mounts remain under $TMP; not deleting" >&2; exit 1; fi
  rm -rf --one-file-system "$TMP"
  echo "debootstrap $ARCH bookworm from $MIRROR into $TMP (5-6 min under emulation on a quiet 2-core host, 10-16 min on a busy one)"
  if ! timeout 2400 debootstrap --arch="$ARCH" --variant=minbase \
      --include="python3,python3-venv,python3-dev,gcc,libc6-dev$EXTRA_PKGS" \
      bookworm "$TMP" "$MIRROR" >"$LOG/debootstrap-$ARCH.log" 2>&1; then
    tail -30 "$LOG/debootstrap-$ARCH.log"
    grep -qiE "Failed getting release|Temporary failure|Could not resolve" "$LOG/debootstrap-$ARCH.log" \
      && skip "no network to the Debian mirror"
    echo "FAIL: debootstrap"; exit 1
  fi
  rm -f "$TMP"/var/cache/apt/archives/*.deb
  mv "$TMP" "$ROOT"
fi
phase debootstrap "$t"

# ------------------------------------------------------------------ 3. the sdist
t=$(ts)
# The release artefact (what `python -m build --sdist` makes), built from a copy of the working
# tree's files (tracked + new, minus ignored): setuptools lists every file under the project
# before applying MANIFEST.in, and build/ holds this rootfs.
DIST=$LOG/dist-$ARCH
rm -rf "$DIST" "$LOG/sdist-src-$ARCH"
mkdir -p "$LOG/sdist-src-$ARCH"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done \
  | tar --null -T - -cf - | tar -xf - -C "$LOG/sdist-src-$ARCH"
timeout 600 "$PY" -m build --sdist --outdir "$DIST" "$LOG/sdist-src-$ARCH" >"$LOG/sdist-$ARCH.log" 2>&1 \
  || { tail -30 "$LOG/sdist-$ARCH.log"; echo "FAIL: python -m build --sdist"; exit 1; }
SDIST=$(ls "$DIST"/zkedge-*.tar.gz)
rm -rf --one-file-system "$ROOT/opt/zkedge-dist"
mkdir -p "$ROOT/opt/zkedge-dist"
cp "$SDIST" "$ROOT/opt/zkedge-dist/"
echo "sdist: $(basename "$SDIST") ($(du -h "$SDIST" | cut -f1))"
phase sdist "$t"

# ------------------------------------------------------------------ 4. chroot, venv, pip install
t=$(ts)
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# This sandbox's egress TLS is intercepted by its own CA: give pip the host's bundle (not the
# host's pip config, which points at x86-only local wheel directories).
mkdir -p "$ROOT/etc/ssl/certs" "$ROOT/work/src"
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/host-ca-bundle.crt"
printf '[global]\ncert = /etc/ssl/certs/host-ca-bundle.crt\ntimeout = 180\ndisable-pip-version-check = true\n' \
  > "$ROOT/etc/pip.conf"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
in_arm() {  # [timeout seconds (default 1800)] command
  local limit=1800
  if [ $# -gt 1 ]; then limit=$1; shift; fi
  timeout "$limit" chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin /bin/bash -o pipefail -c "$1"
}
in_arm 'uname -m; python3 -V' | tr '\n' ' '; echo
phase chroot-setup "$t"

t=$(ts)
[ -x "$ROOT/opt/venv/bin/python" ] || in_arm 600 'python3 -m venv /opt/venv'
phase venv "$t"


t=$(ts)
# Compiling the core under emulation is slow (5-20 min): skip the install when the sdist's
# build inputs (zkedge/, native/, setup.py, pyproject.toml: names and contents; the tarball's
# own bytes change per build) are the same as last time. Docs alone do not reinstall.
INPUTS=('*/zkedge/*' '*/native/*' '*/setup.py' '*/pyproject.toml')
SRC_HASH=$( (tar -tzf "$SDIST" --wildcards "${INPUTS[@]}" | LC_ALL=C sort
  tar -xzOf "$SDIST" --wildcards "${INPUTS[@]}") | sha256sum | cut -c1-64)
if [ "$(cat "$ROOT/opt/venv/.zkedge-sdist-hash" 2>/dev/null)" = "$SRC_HASH" ] \
    && in_arm 'cd / && python -c "import zkedge._native"' 2>/dev/null; then
  echo "zkedge already installed from an identical sdist ($SRC_HASH)"
else
  rm -f "$ROOT/opt/venv/.zkedge-sdist-hash"
  set +e
  in_arm 2400 "cd / && pip install /opt/zkedge-dist/$(basename "$SDIST")" >"$LOG/pip-install-$MACHINE.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    tail -40 "$LOG/pip-install-$MACHINE.log"
    grep -qiE "Temporary failure in name resolution|NewConnectionError" \
      "$LOG/pip-install-$MACHINE.log" && skip "pip could not reach the package index from the chroot"
    echo "FAIL: pip install of the sdist in the $MACHINE chroot exited $rc"; exit 1
  fi
  in_arm 'cd / && python -c "import zkedge._native"' || { echo "FAIL: zkedge did not install"; exit 1; }
  if in_arm 'cd / && python -c "import zkedge._native32"' 2>/dev/null; then
    echo "FAIL: the release build installed the test-only zkedge._native32"; exit 1
  fi
  echo "$SRC_HASH" > "$ROOT/opt/venv/.zkedge-sdist-hash"
fi
phase "pip install zkedge" "$t"

# ------------------------------------------------------------------ 5. import + selftest
t=$(ts)
in_arm 'cd / && python -c "import platform, zkedge; print(platform.machine(), zkedge.native_info())"'
phase import "$t"
t=$(ts)
SELFTEST='zkedge selftest'  # the console script the sdist installs
set +e
in_arm 900 "cd / && $SELFTEST" | tee "$LOG/selftest-$MACHINE.txt"
st=${PIPESTATUS[0]}
set -e
phase selftest "$t"
[ "$st" = 0 ] || { echo "FAIL: selftest on $MACHINE exited $st"; exit 1; }

# ------------------------------------------------------------------ 6. worker round trip
t=$(ts)
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
export ZKEDGE_TOKEN=$TOKEN
"$PY" -m zkedge.cli._fleet coordinator --bind "127.0.0.1:$PORT" --store :memory: \
  --target-seconds 1 --block-points 1024 >"$LOG/coordinator.log" 2>&1 &
COORD_PID=$!
WORKER_ID=$ARCH-chroot
# Not through in_arm: $! must be the timeout process itself, which passes SIGTERM on to the
# worker (chroot, env and bash all exec), so the worker drains and exits with this script.
timeout 1800 chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
  PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin ZKEDGE_TOKEN="$TOKEN" ZKEDGE_LOG=INFO \
  /bin/bash -c "rm -rf /tmp/zkcache; exec python -m zkedge.cli._fleet worker \
  --coordinator 127.0.0.1:$PORT --id $WORKER_ID --cache-dir /tmp/zkcache --cache-mb 64" \
  >"$LOG/worker-$MACHINE.log" 2>&1 &
WORKER_PID=$!
set +e
timeout 1200 "$PY" "$REPO/firmware_tests/arm_roundtrip.py" --coordinator "127.0.0.1:$PORT" \
  --worker "$WORKER_ID" --points "$RT_POINTS" --expect-machine "$MACHINE"
rt=$?
set -e
phase "worker round trip" "$t"
if [ "$rt" != 0 ]; then
  echo "--- worker log"; tail -30 "$LOG/worker-$MACHINE.log"
  echo "--- coordinator log"; tail -30 "$LOG/coordinator.log"
  echo "FAIL: worker round trip"; exit 1
fi
kill -TERM "$WORKER_PID" 2>/dev/null; wait "$WORKER_PID" 2>/dev/null || true; WORKER_PID=
kill -TERM "$COORD_PID" 2>/dev/null; wait "$COORD_PID" 2>/dev/null || true; COORD_PID=

phase total "$T_ALL"
if [ "${KEEP_ROOTFS:-1}" = 0 ]; then
  cleanup || true
  trap - EXIT
  grep -q " $ROOT/" /proc/self/mountinfo || rm -rf --one-file-system "$ROOT"
fi
echo "firmware-test-full: PASS ($MACHINE selftest + worker round trip)"
