"""Build script: compiles the C core in native/ into zkedge._native (and the forced 32-bit-limb
variant zkedge._native32, used to test the limb path that armv6/armv7 boards run)."""

from setuptools import setup

setup(
    cffi_modules=[
        "native/build_ffi.py:ffi",
        "native/build_ffi.py:ffi32",
    ],
)
