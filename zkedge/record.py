"""``Record`` and ``Frozen``: slots classes that compare and print by their fields.

They stand in for ``dataclasses`` on the path of a local proof.

``dataclasses`` imports ``inspect`` (with ``ast``, ``dis`` and ``tokenize``), and each
decorated class generates and compiles its methods at import: together about 10 ms of a
``zkedge prove`` process, 5% of a small proof's whole run. The classes a local proof loads
(curves, zkey, witness, plan, result) derive from :class:`Record` instead and write their
``__init__`` out. ``Frozen`` ones are hashable and refuse attribute assignment after it.

``typing`` (with ``re``, ``contextlib`` and more that it loads) and ``pathlib`` (with
``urllib.parse`` and ``ipaddress``) are left out of that path too: about 4 and 5 ms of a fresh
process. Its modules import names from ``typing`` only for the type checker, under a module
constant ``TYPE_CHECKING = False`` (mypy reads ``if TYPE_CHECKING:`` as true whatever the
constant's origin), and take :func:`cast` from here at run time.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see above)
if TYPE_CHECKING:
    from typing import Any

_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    """The slots of ``cls`` and its bases, in the order their annotations declare them."""
    names = _FIELDS.get(cls)
    if names is None:
        found: list[str] = []
        for k in reversed(cls.__mro__):
            slots = k.__dict__.get("__slots__", ())
            own = k.__dict__.get("__annotations__", {})  # noqa: RUF063 (inspect is what we avoid)
            found += [n for n in own if n in slots]
        names = _FIELDS[cls] = tuple(found)
    return names


class Record:
    """Equality (same class, equal fields) and ``repr`` from the annotated ``__slots__``."""

    __slots__ = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, k) for k in _fields(type(self)))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable: unhashable, as a dataclass

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={getattr(self, k)!r}" for k in _fields(type(self)))
        return f"{type(self).__name__}({body})"


class Frozen(Record):
    """A :class:`Record` whose fields are set once, in ``__init__`` (through :meth:`_set`)."""

    __slots__ = ()

    def _set(self, **values: Any) -> None:
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name}")

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._values())

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), dict(zip(_fields(type(self)), self._values(), strict=True))))


def _rebuild(cls: type[Frozen], values: dict[str, Any]) -> Frozen:
    """Unpickle a :class:`Frozen` (its ``__setattr__`` refuses the default way)."""
    obj = cls.__new__(cls)
    obj._set(**values)
    return obj


def cast(_type: object, value: object) -> object:
    """``typing.cast`` at run time (it returns the value): modules on a local proof's path
    import it from here unless ``TYPE_CHECKING``."""
    return value
