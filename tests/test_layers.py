"""The package boundaries of zkedge, checked from the source (every import, in functions too).

Layers, lowest first: the math API (top-level modules: curves, field, ec, msm, ntt, _lib),
``zkedge.groth16``, ``zkedge.circom`` and ``zkedge.fleet`` beside each other (fleet: common,
rpc, client; ``coordinator`` and ``worker`` beside each other), ``zkedge.cli``. A layer imports
only from layers below it; inside the fleet, coordinator and worker never import each other. A
private module or name (leading underscore) is imported only by modules of the package that
holds it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "zkedge"

# Rank of each unit; a unit may import units of a lower or equal rank only (equal: only itself).
RANKS = {
    "zkedge": 0,
    "zkedge.groth16": 1,
    "zkedge.circom": 2,
    "zkedge.fleet": 2,
    "zkedge.fleet.coordinator": 3,
    "zkedge.fleet.worker": 3,
    "zkedge.selftest": 4,
    "zkedge.cli": 5,
    "zkedge.__main__": 6,
}


def _modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        parts = f.relative_to(ROOT.parent).with_suffix("").parts
        if "proto" in parts:
            continue
        name = ".".join(parts).removesuffix(".__init__")
        out[name] = f
    return out


def _unit(module: str) -> str:
    """The layer a module belongs to: the longest key of RANKS that contains it."""
    best = "zkedge"
    for u in RANKS:
        if (module == u or module.startswith(u + ".")) and len(u) > len(best):
            best = u
    return best


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported name) for every ``zkedge`` import in a module (module.name for from)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}:{node.lineno}: relative import"
            if node.module:
                out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return [(ln, t) for ln, t in out if t.startswith("zkedge.") and ".proto." not in t]


MODULES = _modules()


def test_the_tree_is_what_the_layers_name() -> None:
    for unit in RANKS:
        path = ROOT.parent / unit.replace(".", "/")
        assert path.is_dir() or path.with_suffix(".py").is_file(), unit


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_down_the_layers(name: str) -> None:
    src = _unit(name)
    for line, target in _imports(name, MODULES[name]):
        dst = _unit(target)
        if dst == src:
            continue
        assert RANKS[dst] < RANKS[src], f"{name}:{line} imports {target} ({src} -> {dst})"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_names_from_another_package(name: str) -> None:
    pkg = name if MODULES[name].name == "__init__.py" else name.rsplit(".", 1)[0]
    for line, target in _imports(name, MODULES[name]):
        parts = target.split(".")
        for i, part in enumerate(parts):
            if part.startswith("_") and not part.startswith("__"):
                owner = ".".join(parts[:i])
                if owner in MODULES and MODULES[owner].name != "__init__.py":
                    owner = owner.rsplit(".", 1)[0]  # a module's private name: its package's
                assert pkg == owner, (
                    f"{name}:{line} imports the private {'.'.join(parts[: i + 1])} of {owner}"
                )
                break


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    # The checks above are only worth something if they fail on a bad import.
    bad = tmp_path / "m.py"
    bad.write_text("from zkedge.fleet.coordinator import Coordinator\n")
    ((_line, target),) = _imports("zkedge.groth16.m", bad)
    assert RANKS[_unit(target)] > RANKS[_unit("zkedge.groth16.m")]
