"""Build the API reference from the docstrings with pdoc; fail on any warning.

    python tools/build_docs.py --out build/docs

Two kinds of problems fail the build, each printed as one line:

* every warning pdoc emits while it imports and renders the package (a module that does not
  import, an ``__all__`` name that does not resolve, an annotation it cannot evaluate, ...);
* every cross-reference role in a docstring (``:func:`x```, ``:class:`x```, ``:meth:``,
  ``:exc:``, ``:mod:``, ``:attr:``, ``:data:``, ``:const:``, ``:obj:``) that pdoc would render
  without a link: the name resolves to no documented object, as seen from where it is written
  (the same lookup pdoc's own linking does: the enclosing class, the module, then a dotted
  name in any documented module).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pdoc
import pdoc.doc
import pdoc.extract
import pdoc.render
from pdoc.render_helpers import possible_sources, qualname_candidates

ROOT = Path(__file__).resolve().parents[1]

# Not API: the generated protobuf code, and private modules (a leading underscore anywhere).
EXCLUDE = [r"!zkedge\.fleet\.proto", r"!.*\._"]


def public_modules() -> list[str]:
    """Every public module of the package, named one by one: pdoc walks only the submodules a
    package lists in its ``__all__`` (zkedge's and zkedge.groth16's list names, not modules),
    and it does not find zkedge.fleet, a namespace package (no ``__init__.py``)."""
    out = []
    for f in sorted((ROOT / "zkedge").rglob("*.py")):
        parts = f.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if "proto" in parts or any(p.startswith("_") for p in parts):
            continue
        out.append(".".join(parts))
    for d in sorted((ROOT / "zkedge").rglob("*/")):
        parts = d.relative_to(ROOT).parts
        if d.is_dir() and not (d / "__init__.py").exists() and any(d.glob("*.py")):
            if "proto" not in parts and not any(p.startswith("_") for p in parts):
                out.append(".".join(parts))  # a namespace package
    return sorted(set(out))


def root_specs(modules: list[str]) -> list[str]:
    """The modules pdoc must be named, leaving out those it finds by walking a parent package
    (naming one twice makes pdoc warn)."""
    found: set[str] = set()
    out = []
    for name in modules:  # sorted: a package comes before its submodules
        if name not in found:
            out.append(name)
        module = importlib.import_module(name)
        if hasattr(module, "__path__"):
            found.update(m.name for m in pdoc.extract.iter_modules2(module).values())
    return out


# Problems in code this build cannot fix from a docstring, each to be removed once mended; an
# entry that no longer occurs fails the build too, so the list only shrinks.
KNOWN: set[str] = set()

_ROLE = re.compile(r"(?::py)?:(mod|func|data|const|class|meth|attr|exc|obj):`([^`]+)`")


def _walk(doc: pdoc.doc.Doc[Any]) -> Iterator[pdoc.doc.Doc[Any]]:
    """A documented object and everything documented inside it (classes' members)."""
    yield doc
    if isinstance(doc, pdoc.doc.Namespace):
        for member in doc.own_members:
            yield from _walk(member)


def _resolves(
    target: str, where: pdoc.doc.Doc[Any], all_modules: dict[str, pdoc.doc.Module]
) -> bool:
    """Whether pdoc links ``target`` written in the docstring of ``where``."""
    ident = target.strip().removesuffix("()")
    mod = all_modules[where.modulename]
    namespace = where.qualname if not isinstance(where, pdoc.doc.Module) else ""
    if any(mod.get(q) is not None for q in qualname_candidates(ident, namespace)):
        return True
    if ident in all_modules:
        return True
    try:
        sources = list(possible_sources(all_modules, ident))
    except ValueError:
        return False
    return any(
        module in all_modules and all_modules[module].get(qualname) is not None
        for module, qualname in sources
    )


def cross_reference_problems(all_modules: dict[str, pdoc.doc.Module]) -> list[str]:
    """One line per docstring role whose target pdoc cannot link."""
    out = []
    for mod in all_modules.values():
        for doc in _walk(mod):
            origin = doc.taken_from[0]
            if not doc.docstring or (origin != mod.modulename and origin in all_modules):
                continue  # checked where it is defined, or once per re-export of a private one
            where = ".".join(doc.taken_from) if origin != mod.modulename else doc.fullname
            for m in _ROLE.finditer(doc.docstring):
                kind, target = m.groups()
                if not _resolves(target, doc, all_modules):
                    out.append(f"{where}: :{kind}:`{target}` links to nothing documented")
    return sorted(set(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/docs"), help="output directory")
    args = ap.parse_args(argv)

    specs = [*root_specs(public_modules()), *EXCLUDE]
    pdoc.render.configure(docformat="restructuredtext", show_source=True, search=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*specs, output_directory=args.out)
        # The same module objects pdoc rendered (it caches them by name).
        names = pdoc.extract.walk_specs(specs)
        all_modules = {n: pdoc.doc.Module.from_name(n) for n in names}
    problems, known_seen = [], set()
    for w in caught:
        hits = {k for k in KNOWN if re.search(k, str(w.message))}
        known_seen |= hits
        if not hits:
            problems.append(f"pdoc: {w.category.__name__}: {w.message}")
    problems += [f"known problem no longer occurs, remove it from KNOWN: {k}" for k in
                 sorted(KNOWN - known_seen)]  # fmt: skip
    problems += cross_reference_problems(all_modules)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"make docs: {len(problems)} problem(s); see above", file=sys.stderr)
        return 1
    print(f"API reference for {len(all_modules)} modules in {args.out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
