"""Fixtures: real ``slipgate dev`` processes on port 0 (the binary from ``SLIPGATE_BIN``, default
``target/debug/slipgate``, built once by ``cargo build -p slipgate-cli``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "crates" / "test-support" / "fixtures" / "rfc9421"


class Employee(TypedDict):
    emp_id: str
    emp_code: str
    emp_name: str
    emp_grade: str


ALICE = Employee(emp_id="01234", emp_code="ENG", emp_name="Alice Example", emp_grade="7.1")
PAULA = Employee(emp_id="00001", emp_code="HR", emp_name="Paula Payroll", emp_grade="8.1")


def slipgate_bin() -> Path:
    path = Path(os.environ.get("SLIPGATE_BIN", REPO / "target" / "debug" / "slipgate"))
    if not path.is_file():
        pytest.fail(f"{path} missing: run `cargo build -p slipgate-cli` (or set SLIPGATE_BIN)")
    return path


class Dev:
    """One ``slipgate dev`` process with its own data directory and dev.json."""

    def __init__(self, root: Path, extra: list[str]) -> None:
        self.root = root
        self.data = root / "data"
        self.log = (root / "dev.log").open("wb")
        env = dict(os.environ, XDG_CONFIG_HOME=str(root / "config"), RUST_LOG="warn")
        env.pop("SLIPGATE_IDP__DATABASE", None)
        self.process = subprocess.Popen(
            [
                str(slipgate_bin()),
                "dev",
                "--data-dir",
                str(self.data),
                "--set",
                "server.listen=127.0.0.1:0",
                "--set",
                "server.admin_listen=127.0.0.1:0",
                "--set",
                "idp.listen=127.0.0.1:0",
                *extra,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )
        path = self.data / "dev.json"
        deadline = time.monotonic() + 90
        while not path.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"slipgate dev {extra} exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("dev.json not written within 90 s")
            time.sleep(0.05)
        self.json: dict[str, Any] = json.loads(path.read_text())
        self.api_url: str = self.json["api_url"]
        self.idp_url: str = self.json["idp_url"]
        self.ca: str = self.json["ca_file"]

    def password(self, username: str) -> str:
        user = next(u for u in self.json["users"] if u["username"] == username)
        return str(user["password"])

    def key(self, keyid: str) -> dict[str, str]:
        return next(k for k in self.json["keys"] if k["keyid"] == keyid)

    def metrics(self) -> str:
        import urllib.request

        with urllib.request.urlopen(self.json["admin_url"] + "/metrics", timeout=10) as r:
            return str(r.read().decode())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _dev(tmp_path_factory: pytest.TempPathFactory, name: str, extra: list[str]) -> Iterator[Dev]:
    dev = Dev(tmp_path_factory.mktemp(name), extra)
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """Default settings, with rate limits high enough for the whole suite."""
    yield from _dev(
        tmp_path_factory,
        "dev",
        ["--set", "rate_limit.user=100000/min", "--set", "rate_limit.ip=100000/min"],
    )


@pytest.fixture(scope="session")
def dev_short_tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """Access tokens live 10 s (the shortest `idp.access_token_ttl` allows), set by --config."""
    config = tmp_path_factory.mktemp("short-config") / "dev.toml"
    config.write_text('[idp]\naccess_token_ttl = "10s"\n\n[rate_limit]\nuser = "100000/min"\n')
    yield from _dev(tmp_path_factory, "dev-short", ["--config", str(config)])


@pytest.fixture(scope="session")
def dev_limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """A per-user limit of 2 requests a second (burst 2)."""
    yield from _dev(tmp_path_factory, "dev-limited", ["--set", "rate_limit.user=2/s"])


@pytest.fixture(scope="session")
def dev_burst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """A per-user limit of 10 requests a second (burst 10)."""
    yield from _dev(tmp_path_factory, "dev-burst", ["--set", "rate_limit.user=10/s"])
