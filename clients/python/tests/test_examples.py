"""The from-scratch scripts of docs/examples/, run unmodified: they reproduce the documents'
worked examples, and the key-bound one logs in to a real `slipgate dev` and gets a slip."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from conftest import ALICE, FIXTURES, REPO, Dev

EXAMPLES = REPO / "docs" / "examples"
WIRE = (REPO / "docs" / "wire-protocol.md").read_text()


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_login_script_reproduces_the_key_binding_examples() -> None:
    out = run(
        str(EXAMPLES / "slipgate_login.py"),
        "--show-example",
        "--key",
        str(FIXTURES / "test-key-ed25519.key.pem"),
    )
    assert out.returncode == 0, out.stderr
    sections = out.stdout.split("--- ")
    fields = [line for line in out.stdout.splitlines() if line.startswith(("Content-Digest:", "Signature"))]
    assert len(fields) == 6
    for line in fields:
        assert line + "\n" in WIRE, line
    bases = [s.split("---\n", 1)[1].rstrip("\n") for s in sections if s.startswith("its signature base")]
    assert len(bases) == 2
    for base in bases:
        assert "```\n" + base + "\n```" in WIRE


def test_hmac_script_reproduces_the_worked_example() -> None:
    out = run(
        str(EXAMPLES / "sign_request.py"),
        "https://127.0.0.1:8443/generate/salaryslip",
        "--key-id",
        "dev-hmac",
        "--secret",
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
        "--token",
        "example-token",
        "--created",
        "1767225600",
        "--nonce",
        "q4Kj2dVbX8mNcP1a",
    )
    assert out.returncode == 0, out.stderr
    assert "Signature: sig1=:/FuDqPR0EAhp/5/V5d+513xizR0CsMabQoCA/mh6JrU=:" in out.stdout


def test_login_script_logs_in_with_its_own_key_and_gets_a_slip(dev: Dev) -> None:
    out = run(str(EXAMPLES / "slipgate_login.py"), "--dev-json", str(dev.data / "dev.json"))
    assert out.returncode == 0, out.stderr + out.stdout
    assert "response signature verified" in out.stderr
    slip = json.loads(out.stdout)
    assert slip["employee"] == ALICE


def test_login_script_reads_the_password_from_stdin_and_is_refused_a_wrong_one(dev: Dev) -> None:
    out = run(
        str(EXAMPLES / "slipgate_login.py"),
        "--api",
        dev.api_url,
        "--idp",
        dev.idp_url,
        "--cacert",
        dev.ca,
        "--username",
        "alice",
        "--password-stdin",
        stdin="wrong\n",
    )
    assert out.returncode != 0
    assert "invalid_grant" in out.stderr
    assert "wrong" not in out.stderr.replace("invalid_grant", "")


def test_the_readme_quick_start_gets_a_slip(dev: Dev, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "clients" / "python" / "README.md").read_text()
    code = readme.split("## Quick start\n\n```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 5
    code = (
        code.replace('"https://127.0.0.1:8443"', repr(dev.api_url))
        .replace('"https://127.0.0.1:8444"', repr(dev.idp_url))
        .replace('".slipgate-dev/ca.pem"', repr(dev.ca))
    )
    exec(compile(code, "README.md", "exec"), {"password": dev.password("alice")})  # noqa: S102
    net_pay, currency = capsys.readouterr().out.split()
    assert Decimal(net_pay) > 0
    assert currency.isalpha()
