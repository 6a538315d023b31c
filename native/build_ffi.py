"""cffi build script for the native core (out-of-line API mode).

``ffi`` builds ``zkedge._native`` with 64-bit limbs where the compiler has ``unsigned __int128``
(32-bit limbs otherwise); ``ffi32`` builds ``zkedge._native32`` with 32-bit limbs forced, the
path armv6/armv7 boards run, so it is tested everywhere. ZKEDGE_CFLAGS adds compiler flags
(e.g. ``-march=native`` when building on the board that will run it).

Warnings: our sources (unity.c and everything it includes) are compiled with the flags in
native/warnings.flags, turned on by ``#pragma GCC diagnostic`` around the include, and as errors
when ZKEDGE_WERROR=1 (the Makefile's dev install and CI). The pragmas confine them to our code:
cffi's generated wrapper and Python's headers, which we do not control and which change with
their versions, get plain -Wall -Wextra and never fail the build (today they trip one warning
of the set, -Wmissing-prototypes on PyInit_*).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
# The public C API: the core, snarkjs .zkey evaluation, fleet scheduling helpers.
HEADERS = ("zkedge.h", "zkey.h", "fleet.h")


def _cdef() -> str:
    """The declarations of HEADERS, without preprocessor lines and C++ guards."""
    keep = []
    for header in HEADERS:
        text = re.sub(r"/\*.*?\*/", "", (HERE / header).read_text(), flags=re.S)
        for line in text.splitlines():
            s = line.strip()
            if s.startswith("#") or s.startswith('extern "C"') or s == "}":
                continue
            keep.append(line)
    return "\n".join(keep)


def warning_flags() -> list[str]:
    """The flags of native/warnings.flags (one a line, # comments)."""
    lines = (HERE / "warnings.flags").read_text().splitlines()
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def sources_digest() -> str:
    """SHA-256 of every file the core compiles from (native/, native/generated/)."""
    import hashlib

    h = hashlib.sha256()
    for f in (
        sorted(HERE.glob("*.[ch]"))
        + sorted(HERE.glob("*.inc"))
        + sorted((HERE / "generated").glob("*.h"))
    ):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _source(werror: bool) -> str:
    """The C source cffi puts ahead of its wrapper: unity.c inside a diagnostic region, after a
    digest of the included files. cffi rewrites its generated file only when that text changes,
    and setuptools recompiles only a generated file newer than its object: without the digest,
    a tree with an old build/ directory (``pip wheel .``) would link the old object."""
    kind = "error" if werror else "warning"
    lines = [f"/* native sources {sources_digest()} */", "#pragma GCC diagnostic push"]
    lines += [f'#pragma GCC diagnostic {kind} "{flag}"' for flag in warning_flags()]
    lines += ['#include "unity.c"', "#pragma GCC diagnostic pop"]
    return "\n".join(lines)


def _make(module: str, force32: bool) -> FFI:
    ffi = FFI()
    ffi.cdef(_cdef())
    macros = [("ZK_FORCE_LIMB32", "1")] if force32 else []
    # -g0: no debug information (Python's own CFLAGS ask for -g): a third of the module's size
    # and of an emulated board build's time; ZKEDGE_CFLAGS=-g brings it back for debugging
    extra = ["-O3", "-g0", "-std=c11", "-pthread", "-fno-strict-aliasing", "-Wall", "-Wextra"]
    extra += os.environ.get("ZKEDGE_CFLAGS", "").split()
    ffi.set_source(
        module,
        _source(werror=os.environ.get("ZKEDGE_WERROR") == "1"),
        include_dirs=[str(HERE)],
        define_macros=macros,
        extra_compile_args=extra,
        extra_link_args=["-pthread"],
    )
    return ffi


ffi = _make("zkedge._native", force32=False)
ffi32 = _make("zkedge._native32", force32=True)

if __name__ == "__main__":
    # Build both modules without pip: python native/build_ffi.py. Each is compiled in build/
    # and renamed into zkedge/, so processes that have the old module loaded keep a valid file.
    import shutil
    import sysconfig

    os.chdir(HERE.parent)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    import sys

    only = sys.argv[1:]  # e.g. "_native" to rebuild one variant
    for name, force32 in (("_native", False), ("_native32", True)):
        if only and name not in only:
            continue
        tmp = HERE.parent / "build" / f"cffi{name}"
        so = _make(f"zkedge.{name}", force32).compile(tmpdir=str(tmp), verbose=False)
        dst = HERE.parent / "zkedge" / f"{name}{suffix}"
        shutil.copyfile(so, f"{dst}.tmp")
        os.replace(f"{dst}.tmp", dst)
        # pip's build (make) names it .abi3.so; Python would pick whichever comes first in its
        # suffix list, so leave exactly one
        stale = dst.with_name(f"{name}.abi3.so")
        if stale != dst:
            stale.unlink(missing_ok=True)
        print("built", dst)
