"""What pyproject.toml declares matches what the package imports; the optional reference
code says what to install when py_ecc is missing. (tools/release_check.sh builds and installs
the sdist and wheel themselves: `make release-check`.)"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# distribution name -> the top-level module it installs, where they differ
MODULE_OF = {"py_ecc": "py_ecc", "trio-asyncio": "trio_asyncio"}


def _requirement_modules(reqs: list[str]) -> set[str]:
    names = {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0] for r in reqs}
    return {MODULE_OF.get(n, n.replace("-", "_")) for n in names}


def _imported_modules() -> set[str]:
    """Top-level modules that zkedge's own code imports, minus the standard library."""
    found: set[str] = set()
    for path in (ROOT / "zkedge").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"zkedge", "__future__"}


def test_runtime_dependencies_are_what_the_package_imports() -> None:
    project = PYPROJECT["project"]
    runtime = _requirement_modules(project["dependencies"])
    reference = _requirement_modules(project["optional-dependencies"]["reference"])
    circom = _requirement_modules(project["optional-dependencies"]["circom"])
    imported = _imported_modules()
    # cffi: the compiled zkedge._native needs its _cffi_backend at run time
    assert imported | {"cffi"} == runtime | reference | circom
    assert circom == {"wasmtime"}
    assert reference == {"py_ecc"}
    assert "py_ecc" not in runtime and "gmpy2" not in runtime


def test_grpclib_is_bounded_below_the_next_minor() -> None:
    (grpclib,) = [r for r in PYPROJECT["project"]["dependencies"] if r.startswith("grpclib")]
    assert "<0.5" in grpclib  # zkedge/fleet/rpc.py uses grpclib's private internals


def test_one_version() -> None:
    import zkedge

    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "zkedge.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", zkedge.__version__)
    assert f"## {zkedge.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_license_file() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_py_ecc_missing_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from zkedge.curves import BN254
    from zkedge.groth16 import verifier

    for m in ("py_ecc", "py_ecc.optimized_bn128", "py_ecc.optimized_bls12_381"):
        monkeypatch.setitem(sys.modules, m, None)  # import of py_ecc now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'zkedge\[reference\]'"):
        verifier._backend(BN254)
    try:
        from zkedge import ec
    except ImportError:  # no native core: zkedge.ec cannot load
        return
    with pytest.raises(ImportError, match=r"pip install 'zkedge\[reference\]'"):
        ec.to_py_ecc(BN254, "G1", None)
