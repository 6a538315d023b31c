"""``zkedge worker --config``: the TOML loader and its merge with command-line flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from zkedge.fleet.worker.config_file import (
    ConfigError,
    add_config_argument,
    apply_config,
    load_worker_config,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "packaging" / "worker.toml"


def parser() -> argparse.ArgumentParser:
    """The shape of the fleet CLI's worker parser (the options the file can set)."""
    p = argparse.ArgumentParser()
    p.add_argument("--coordinator")
    p.add_argument("--id", dest="worker_id")
    p.add_argument("--threads", type=int)
    p.add_argument("--cache-dir", type=Path)
    p.add_argument("--cache-mb", type=int, default=1024)
    p.add_argument("--drain-grace", type=float, default=30.0)
    p.add_argument("--no-benchmark", action="store_true")
    p.add_argument("--token", default=None)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--tls-ca", type=Path)
    p.add_argument("--tls-cert", type=Path)
    p.add_argument("--tls-key", type=Path)
    add_config_argument(p)
    return p


def test_example_file_loads() -> None:
    opts = load_worker_config(EXAMPLE)
    assert opts["coordinator"] == "gateway.local:50051"
    assert opts["cache_dir"] == Path("/var/cache/zkedge/bases")
    assert opts["cache_mb"] == 1024 and opts["cache_memory_mb"] == 64
    assert opts["tls"] is False


def test_all_keys(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n")
    f = tmp_path / "w.toml"
    f.write_text(
        'coordinator = "gw:1"\nworker_id = "pi1"\nthreads = 3\ndrain_grace = 5\n'
        "benchmark = false\n"
        '[cache]\ndir = "cache"\nsize_mb = 10\nmemory_mb = 0\n'
        '[tls]\nenabled = true\nca = "/ca.pem"\ncert = "w.pem"\nkey = "w.key"\n'
        '[auth]\ntoken_file = "token"\n'
    )
    o = load_worker_config(f)
    assert o == {
        "coordinator": "gw:1",
        "worker_id": "pi1",
        "threads": 3,
        "drain_grace": 5.0,
        "no_benchmark": True,
        "cache_dir": tmp_path / "cache",
        "cache_mb": 10,
        "cache_memory_mb": 0,
        "tls": True,
        "tls_ca": Path("/ca.pem"),
        "tls_cert": tmp_path / "w.pem",
        "tls_key": tmp_path / "w.key",
        "token": "s3cret",
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("coordinator = ", "not valid TOML"),
        ('coordinater = "x:1"', "unknown keys coordinater"),
        ("threads = 0", "must be positive"),
        ('threads = "4"', "expected an integer"),
        ("[tls]\nenabled = 1", "expected true or false"),
        ('[auth]\ntoken = "a"\ntoken_file = "b"', "not both"),
        ('[auth]\ntoken_file = "missing"', "cannot read a token"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "w.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_worker_config(f)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_worker_config(tmp_path / "nope.toml")


def test_flags_override_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZKEDGE_TOKEN", raising=False)
    monkeypatch.delenv("ZKEDGE_WORKER_CONFIG", raising=False)
    f = tmp_path / "w.toml"
    f.write_text('coordinator = "gw:1"\nthreads = 2\n[cache]\nsize_mb = 64\n[auth]\ntoken = "t"\n')
    args = apply_config(parser().parse_args(["--config", str(f), "--threads", "4"]))
    assert args.coordinator == "gw:1" and args.threads == 4 and args.cache_mb == 64
    assert args.token == "t"
    args = apply_config(parser().parse_args(["--config", str(f), "--coordinator", "other:2"]))
    assert args.coordinator == "other:2" and args.threads == 2


def test_env_token_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKEDGE_TOKEN", "from-env")
    f = tmp_path / "w.toml"
    f.write_text('coordinator = "gw:1"\n[auth]\ntoken = "from-file"\n')
    p = argparse.ArgumentParser()
    p.add_argument("--coordinator")
    p.add_argument("--token", default="from-env")
    add_config_argument(p)
    assert apply_config(p.parse_args(["--config", str(f)])).token == "from-env"


def test_config_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "w.toml"
    f.write_text('coordinator = "gw:9"\n')
    monkeypatch.setenv("ZKEDGE_WORKER_CONFIG", str(f))
    assert apply_config(parser().parse_args([])).coordinator == "gw:9"


def test_no_coordinator_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZKEDGE_WORKER_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="no coordinator"):
        apply_config(parser().parse_args([]))
