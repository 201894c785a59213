"""The package's version follows the Rust workspace's; the wheel ships py.typed."""

from __future__ import annotations

import tomllib

from conftest import REPO

import slipgate_client


def test_version_is_the_workspace_version() -> None:
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    project = tomllib.loads((REPO / "clients" / "python" / "pyproject.toml").read_text())
    version = cargo["workspace"]["package"]["version"]
    assert project["project"]["version"] == version
    assert slipgate_client.__version__ == version


def test_the_package_is_typed() -> None:
    from pathlib import Path

    assert (Path(slipgate_client.__file__).parent / "py.typed").is_file()


def test_repr_of_keys_and_tokens_shows_no_secret() -> None:
    from slipgate_client import RegistryKey
    from slipgate_client._session import Tokens

    key = RegistryKey("k", hmac_secret=b"s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t")
    assert "s3cr3t" not in repr(key) and "s3cr3t" not in repr(key._key)
    tokens = Tokens("eyJ.secret.token", True, "refresh-secret", 0.0, "salaryslip:self")
    assert "secret" not in repr(tokens)
