"""Build script: compiles the C core in native/ into zkedge._native.

``ZKEDGE_BUILD_NATIVE32=1`` also builds zkedge._native32, the forced 32-bit-limb variant the
tests use (``ZKEDGE_NATIVE=32``) to check the limb path armv6/armv7 boards run; the Makefile's
development install sets it, release builds leave it out.
"""

import os

from setuptools import setup

CFFI_MODULES = ["native/build_ffi.py:ffi"]
if os.environ.get("ZKEDGE_BUILD_NATIVE32", "") == "1":
    CFFI_MODULES.append("native/build_ffi.py:ffi32")

setup(cffi_modules=CFFI_MODULES)
