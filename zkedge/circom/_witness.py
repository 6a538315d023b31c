"""circom's WebAssembly witness calculator, run in-process with wasmtime.

circom 2 compiles a circuit's witness code to a module that exports its memory and a small
protocol, spoken through a "shared read/write memory" that holds one field element as n32
32-bit words, least significant first:

- ``getRawPrime()`` puts p there; ``getFieldNumLen32()`` is n32; ``getWitnessSize()`` and
  ``getInputSize()`` count witness values and input values; ``getVersion()`` (with
  ``getMinorVersion`` / ``getPatchVersion``) is the circom version that built it;
- ``init(sanity_check)`` starts a calculation; for each input value we write the value
  (standard form, < p) into the shared memory and call ``setInputSignal(h_msb, h_lsb, i)``,
  where (h_msb, h_lsb) is the 64-bit FNV-1a hash of the signal name and i the index into its
  flattened values; ``getInputSignalSize(h_msb, h_lsb)`` is a signal's value count, negative
  for an unknown name. Setting the last input runs the circuit;
- ``getWitness(i)`` puts witness value i in the shared memory (``getSharedRWMemoryStart()``
  says where it is in the exported memory, so we read it in one go).

The module imports four functions from ``runtime``: ``exceptionHandler(code)`` (the code
stops: 1 signal not found, 2 too many signals set, 3 signal already set, 4 assert failed,
5 not enough memory, 6 input array access out of bounds), ``printErrorMessage()`` (a line of
the error report, such as the template and line of a failing assert, read one character at a
time with ``getMessageChar()`` until 0), ``writeBufferMessage()`` (a piece of a ``log()``
line; a lone "\\n" ends the line) and ``showSharedRWMemory()`` (a field element logged by
``log()``, in the shared memory).

Each call from Python into wasm costs tens of microseconds in wasmtime-py, against
nanoseconds between two wasm instances, and a witness has 10^5-10^6 values: so a small
helper module of our own (``_BATCH_WAT``) links to the circuit's exports and does the loops
in wasm. ``setInputs`` writes each input value into the shared memory and sets it, from
records we lay out in its memory; ``readWitness`` fetches every witness value into its
memory, which we then read in one go. Where the helper cannot link (a module with other
export types) the same steps run call by call from Python.

Compiling the module is most of the cost for big circuits, so the compiled code is cached on
disk by the wasm's SHA-256 and the wasmtime version (``Module.serialize``), and reloaded with
``Module.deserialize`` (wasmtime checks that a serialized module fits this engine).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import struct
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkedge.circom._errors import InputError, WasmtimeUnavailable, WitnessError
from zkedge.circom._inputs import Inputs, load_inputs, parse_inputs

__all__ = [
    "CircuitInfo",
    "WitnessCalculator",
    "calculate_witness",
    "fnv1a64",
    "wtns_bytes",
]

#: circom's exceptionHandler codes
ERROR_CODES = {
    1: "signal not found",
    2: "too many signals set",
    3: "signal already set",
    4: "assert failed",
    5: "not enough memory",
    6: "input signal array access exceeds the size",
}

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1


def fnv1a64(name: str) -> int:
    """The 64-bit FNV-1a hash circom gives a signal name (over its UTF-16 code units, as
    JavaScript's charCodeAt sees them; signal names are ASCII in practice)."""
    h = _FNV_OFFSET
    units = name.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h ^= units[i] | units[i + 1] << 8
        h = (h * _FNV_PRIME) & _MASK64
    return h


def _i32(v: int) -> int:
    """An unsigned 32-bit value as the signed i32 wasm takes."""
    return v - (1 << 32) if v >= 1 << 31 else v


def _import_wasmtime() -> Any:
    try:
        import wasmtime
    except ImportError as e:
        raise WasmtimeUnavailable(
            f"the circom witness calculator needs the wasmtime package, which cannot be "
            f"imported here ({e}); `pip install wasmtime` where a wheel exists "
            "(not armv7), or compute the witness elsewhere"
        ) from None
    return wasmtime


def default_cache_dir() -> Path:
    """``$ZKEDGE_WASM_CACHE``, else ``$XDG_CACHE_HOME/zkedge/wasm`` (``~/.cache`` by default)."""
    env = os.environ.get("ZKEDGE_WASM_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory (a bare service account)
            base = tempfile.gettempdir()
    return Path(base) / "zkedge" / "wasm"


_ENGINE: Any = None
_MODULES: dict[str, Any] = {}
_BATCH: list[Any] = []  # the compiled batch helper, once per process
_KEY: list[str] = []

# The batch helper. Input records: hash high word, hash low word, index, then n32 value words
# (least significant first). Witness output: n32 words per value, from offset 0.
_BATCH_WAT = """
(module
  (import "circuit" "getWitness" (func $get_witness (param i32)))
  (import "circuit" "readSharedRWMemory" (func $read_shared (param i32) (result i32)))
  (import "circuit" "writeSharedRWMemory" (func $write_shared (param i32 i32)))
  (import "circuit" "setInputSignal" (func $set_input (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "setInputs") (param $count i32) (param $n32 i32)
    (local $r i32) (local $j i32) (local $p i32)
    (block $done
      (loop $record
        (br_if $done (i32.ge_u (local.get $r) (local.get $count)))
        (local.set $j (i32.const 0))
        (block $copied
          (loop $word
            (br_if $copied (i32.ge_u (local.get $j) (local.get $n32)))
            (call $write_shared
              (local.get $j)
              (i32.load (i32.add (i32.add (local.get $p) (i32.const 12))
                                 (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $word)))
        (call $set_input
          (i32.load (local.get $p))
          (i32.load (i32.add (local.get $p) (i32.const 4)))
          (i32.load (i32.add (local.get $p) (i32.const 8))))
        (local.set $p (i32.add (local.get $p)
                               (i32.add (i32.const 12) (i32.shl (local.get $n32) (i32.const 2)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $record))))
  (func (export "readWitness") (param $n i32) (param $n32 i32)
    (local $i i32) (local $j i32) (local $p i32)
    (block $done
      (loop $value
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $get_witness (local.get $i))
        (local.set $j (i32.const 0))
        (block $copied
          (loop $word
            (br_if $copied (i32.ge_u (local.get $j) (local.get $n32)))
            (i32.store (local.get $p) (call $read_shared (local.get $j)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $word)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $value))))
)
"""
_BATCH_IMPORTS = ("getWitness", "readSharedRWMemory", "writeSharedRWMemory", "setInputSignal")


@atexit.register
def _release() -> None:
    """Drop the compiled modules while wasmtime is still whole (at interpreter exit its
    bindings go away before module globals are cleared, and their finalisers complain)."""
    global _ENGINE
    _MODULES.clear()
    _BATCH.clear()
    _ENGINE = None


def _batch_module(cache_dir: Path | None) -> Any:
    if not _BATCH:
        code = bytes(_import_wasmtime().wat2wasm(_BATCH_WAT))
        _BATCH.append(_compile(code, cache_dir))
    return _BATCH[0]


def _engine() -> Any:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _import_wasmtime().Engine()
    return _ENGINE


def _compile(code: bytes, cache_dir: Path | None) -> Any:
    """The compiled module for ``code``: from this process's memo, the disk cache, or
    wasmtime's compiler (then saved to the cache; a cache that cannot be written is skipped)."""
    wasmtime = _import_wasmtime()
    digest = hashlib.sha256(code).hexdigest()
    hit = _MODULES.get(digest)
    if hit is not None:
        return hit
    engine = _engine()
    path = None
    if cache_dir is not None:
        path = cache_dir / f"{digest}-wasmtime-{_runtime_key()}.cwasm"
        # Read into memory, not deserialize_file: that maps the file, and a cache entry
        # truncated or rewritten in place while the module lives would be SIGBUS.
        try:
            module = wasmtime.Module.deserialize(engine, path.read_bytes())
        except (OSError, wasmtime.WasmtimeError):
            module = None
        if module is not None:
            _MODULES[digest] = module
            return module
    module = _build(engine, code)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(module.serialize())
            os.replace(tmp, path)
        except OSError:
            pass
    _MODULES[digest] = module
    return module


def _build(engine: Any, code: bytes) -> Any:
    """Compile ``code`` with wasmtime (the slow step the cache saves)."""
    wasmtime = _import_wasmtime()
    try:
        return wasmtime.Module(engine, code)
    except wasmtime.WasmtimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "invalid module"
        raise InputError(f"not a valid WebAssembly module: {first}") from None


def _runtime_key() -> str:
    """Names the wasmtime build in cache file names: the size and time of its native library
    (reading the package version through importlib.metadata costs 40 ms per process). A
    cached module from another build is refused by ``deserialize`` anyway; the key only
    keeps two builds from overwriting each other's entries."""
    if not _KEY:
        wasmtime = _import_wasmtime()
        lib = next(Path(wasmtime.__file__).parent.glob("*/*wasmtime*"), None)
        st = lib.stat() if lib is not None else None
        _KEY.append(f"{st.st_size:x}-{int(st.st_mtime):x}" if st is not None else "unknown")
    return _KEY[0]


@dataclass(frozen=True)
class CircuitInfo:
    """What a circom witness module says of itself."""

    version: tuple[int, int, int]
    prime: int
    n32: int
    witness_size: int
    input_size: int


class WitnessCalculator:
    """A circom witness module, compiled once; each :meth:`calculate` runs a fresh instance.

    ``log`` receives each line the circuit's ``log()`` prints (default: dropped).
    ``cache_dir`` holds compiled modules (default ``default_cache_dir()``); ``cache=False``
    compiles without reading or writing it.
    Raises :class:`WasmtimeUnavailable` where wasmtime cannot be imported, :class:`InputError`
    for a file that is not a circom 2 witness module.
    """

    def __init__(
        self,
        wasm: str | os.PathLike[str] | bytes,
        *,
        log: Callable[[str], None] | None = None,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(wasm, bytes):
            code, self.name = wasm, "<wasm bytes>"
        else:
            self.name = str(wasm)
            try:
                code = Path(wasm).read_bytes()
            except OSError as e:
                raise InputError(f"{wasm}: cannot read wasm: {e.strerror or e}") from None
        cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._cache_dir = cdir if cache else None
        self._module = _compile(code, self._cache_dir)
        self._log = log
        names = {e.name for e in self._module.exports}
        missing = sorted(
            {"getVersion", "getRawPrime", "getWitness", "setInputSignal", "memory"} - names
        )
        if missing:
            raise InputError(
                f"{self.name}: not a circom 2 witness module (no {', '.join(missing)} export)"
            )
        run = _Run(self)
        self.info = run.info()

    @property
    def prime(self) -> int:
        """The field the circuit was compiled for (circom's ``--prime``)."""
        return self.info.prime

    def calculate(self, inputs: Mapping[str, object]) -> bytes:
        """Witness values for ``inputs`` (signal name -> value or nested list, as in
        input.json): ``witness_size`` little-endian field elements of 4*n32 bytes each."""
        parsed = parse_inputs(inputs)
        return _Run(self).calculate(parsed)

    def calculate_parsed(self, inputs: Inputs) -> bytes:
        """:meth:`calculate` for inputs already through :func:`parse_inputs`."""
        return _Run(self).calculate(inputs)

    def wtns(self, inputs: Mapping[str, object]) -> bytes:
        """A ``.wtns`` file for ``inputs``, byte for byte what ``snarkjs wtns calculate``
        writes."""
        return wtns_bytes(self.info.prime, self.info.n32 * 4, self.calculate(inputs))


class _Run:
    """One instance of the module, with the runtime imports bound to it."""

    def __init__(self, calc: WitnessCalculator) -> None:
        wasmtime = _import_wasmtime()
        self._calc = calc
        self._store = wasmtime.Store(_engine())
        self._errors: list[str] = []
        self._line: list[str] = []
        imports = []
        i32 = wasmtime.ValType.i32()
        handlers: dict[str, tuple[list[Any], Callable[..., None]]] = {
            "exceptionHandler": ([i32], self._exception),
            "printErrorMessage": ([], self._error_message),
            "writeBufferMessage": ([], self._buffer_message),
            "showSharedRWMemory": ([], self._show_shared),
        }
        for imp in calc._module.imports:
            if imp.module != "runtime" or imp.name not in handlers:
                raise InputError(
                    f"{calc.name}: imports {imp.module}.{imp.name}, which circom's runtime "
                    "does not provide (a circom 1 module, or not a witness calculator?)"
                )
            params, fn = handlers[imp.name]
            imports.append(wasmtime.Func(self._store, wasmtime.FuncType(params, []), fn))
        try:
            instance = wasmtime.Instance(self._store, calc._module, imports)
        except wasmtime.WasmtimeError as e:
            raise InputError(f"{calc.name}: cannot instantiate: {e}") from None
        self._x = instance.exports(self._store)
        self._memory = self._x["memory"]
        self._n32: int = self._x["getFieldNumLen32"](self._store)
        self._shared: int | None = None
        if "getSharedRWMemoryStart" in self._x:
            self._shared = self._x["getSharedRWMemoryStart"](self._store)
        self._batch: Any = None
        try:
            self._batch = wasmtime.Instance(
                self._store,
                _batch_module(calc._cache_dir),
                [self._x[n] for n in _BATCH_IMPORTS],
            ).exports(self._store)
        except (KeyError, wasmtime.WasmtimeError):  # exports of other types: call by call
            self._batch = None

    def info(self) -> CircuitInfo:
        s, x = self._store, self._x
        version = (
            x["getVersion"](s),
            x["getMinorVersion"](s) if "getMinorVersion" in x else 0,
            x["getPatchVersion"](s) if "getPatchVersion" in x else 0,
        )
        if version[0] != 2:
            raise InputError(f"{self._calc.name}: circom {version[0]} module (2 is supported)")
        x["getRawPrime"](s)
        return CircuitInfo(
            version=version,
            prime=int.from_bytes(self._read_shared(), "little"),
            n32=self._n32,
            witness_size=x["getWitnessSize"](s),
            input_size=x["getInputSize"](s),
        )

    # the shared read/write memory: one field element, little-endian

    def _read_shared(self) -> bytes:
        if self._shared is not None:
            return bytes(self._memory.read(self._store, self._shared, self._shared + 4 * self._n32))
        rd = self._x["readSharedRWMemory"]
        return b"".join(
            struct.pack("<I", rd(self._store, j) & 0xFFFFFFFF) for j in range(self._n32)
        )

    def _write_shared(self, value: int) -> None:
        data = value.to_bytes(4 * self._n32, "little")
        if self._shared is not None:
            self._memory.write(self._store, data, self._shared)
            return
        wr = self._x["writeSharedRWMemory"]
        for j in range(self._n32):
            wr(self._store, j, _i32(int.from_bytes(data[4 * j : 4 * j + 4], "little")))

    # runtime imports

    def _message(self) -> str:
        get = self._x["getMessageChar"]
        chars = []
        while c := get(self._store):
            chars.append(chr(c & 0xFF))
        return "".join(chars)

    def _exception(self, code: int) -> None:
        reason = ERROR_CODES.get(code, f"unknown error (code {code})")
        raise WitnessError(code, reason, "; ".join(e for e in self._errors if e))

    def _error_message(self) -> None:
        self._errors.append(self._message().strip())

    def _buffer_message(self) -> None:
        msg = self._message()
        if msg == "\n":
            if self._calc._log is not None:
                self._calc._log(" ".join(self._line))
            self._line = []
        else:
            self._line.append(msg)

    def _show_shared(self) -> None:
        self._line.append(str(int.from_bytes(self._read_shared(), "little")))

    # the calculation

    def calculate(self, inputs: Inputs) -> bytes:
        s, x = self._store, self._x
        wasmtime = _import_wasmtime()
        p = self._calc.info.prime
        x["init"](s, 0)
        size_of = x.get("getInputSignalSize")  # circom >= 2.1.x: checks names and counts first
        records: list[tuple[int, int, int, int]] = []
        for name, values in inputs.items():
            h = fnv1a64(name)
            hi, lo = h >> 32, h & 0xFFFFFFFF
            if size_of is not None:
                want = size_of(s, _i32(hi), _i32(lo))
                if want <= 0:  # circom 2.2 answers 0 for a name it does not know
                    raise InputError(f"signal {name!r} is not an input of the circuit")
                if len(values) != want:
                    few = "too few" if len(values) < want else "too many"
                    raise InputError(
                        f"signal {name!r}: {few} values ({len(values)} given, the circuit "
                        f"takes {want})"
                    )
            records.extend((hi, lo, i, v % p) for i, v in enumerate(values))
        try:
            if self._batch is not None:
                self._set_batch(records)
            else:
                for hi, lo, i, v in records:
                    self._write_shared(v)
                    x["setInputSignal"](s, _i32(hi), _i32(lo), i)
        except wasmtime.Trap as e:
            raise WitnessError(0, "the witness code trapped", _trap_line(e)) from None
        except WitnessError as e:
            if e.code == 1:  # no getInputSignalSize: an unknown name shows here
                raise InputError(f"an input signal is not an input of the circuit: {e}") from None
            raise
        total = x["getInputSize"](s)
        if len(records) < total:
            raise InputError(
                f"missing input: {len(records)} of the circuit's {total} input values given "
                "(a signal left out of input.json?)"
            )
        return self._witness_batch() if self._batch is not None else self._witness()

    def _batch_memory(self, size: int) -> Any:
        """The helper's memory, grown to at least ``size`` bytes."""
        mem = self._batch["memory"]
        have = mem.size(self._store)
        need = -(-size // 65536)
        if need > have:
            mem.grow(self._store, need - have)
        return mem

    def _set_batch(self, records: list[tuple[int, int, int, int]]) -> None:
        n8 = 4 * self._n32
        buf = bytearray()
        for hi, lo, i, v in records:
            buf += struct.pack("<III", hi, lo, i)
            buf += v.to_bytes(n8, "little")
        mem = self._batch_memory(len(buf))
        mem.write(self._store, bytes(buf), 0)
        self._batch["setInputs"](self._store, len(records), self._n32)

    def _witness_batch(self) -> bytes:
        n = self._calc.info.witness_size
        size = n * 4 * self._n32
        mem = self._batch_memory(size)
        self._batch["readWitness"](self._store, n, self._n32)
        return bytes(mem.read(self._store, 0, size))

    def _witness(self) -> bytes:
        s, x = self._store, self._x
        n = self._calc.info.witness_size
        n8 = 4 * self._n32
        get = x["getWitness"]
        out = bytearray(n * n8)
        if self._shared is None:
            for i in range(n):
                get(s, i)
                out[i * n8 : (i + 1) * n8] = self._read_shared()
            return bytes(out)
        start = self._shared
        read = self._memory.read
        for i in range(n):
            get(s, i)
            out[i * n8 : (i + 1) * n8] = read(s, start, start + n8)
        return bytes(out)


def _trap_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def wtns_bytes(prime: int, n8: int, values: bytes) -> bytes:
    """A ``.wtns`` (version 2) holding ``values`` (n8-byte little-endian field elements):
    header section (n8, p, count), then the values, exactly as circom's runtime lays it out."""
    n = len(values) // n8
    head = struct.pack("<4sII", b"wtns", 2, 2)
    sec1 = struct.pack("<I", n8) + prime.to_bytes(n8, "little") + struct.pack("<I", n)
    return b"".join(
        (
            head,
            struct.pack("<IQ", 1, len(sec1)),
            sec1,
            struct.pack("<IQ", 2, len(values)),
            values,
        )
    )


def calculate_witness(
    wasm: str | os.PathLike[str] | bytes | WitnessCalculator,
    inputs: str | os.PathLike[str] | Mapping[str, object],
    out: str | os.PathLike[str] | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> bytes:
    """``snarkjs wtns calculate`` in-process: the ``.wtns`` bytes for ``inputs`` (an
    input.json path or a mapping), also written to ``out`` when given."""
    calc = wasm if isinstance(wasm, WitnessCalculator) else WitnessCalculator(wasm, log=log)
    parsed = load_inputs(inputs)
    data = wtns_bytes(calc.info.prime, calc.info.n32 * 4, calc.calculate_parsed(parsed))
    if out is not None:
        Path(out).write_bytes(data)
    return data
