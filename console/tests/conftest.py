"""Fixtures for the web console's browser tests: a real `slipgate dev` on port 0 and Debian's
headless chromium driven by Playwright (no browser download).

Environment: SLIPGATE_BIN (default: $CARGO_TARGET_DIR or target/, then debug/slipgate),
CHROMIUM (default /usr/bin/chromium), CONSOLE_ARTIFACTS (screenshots and downloads; default
target/console-artifacts)."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BIN = Path(os.environ.get("SLIPGATE_BIN", TARGET / "debug" / "slipgate"))
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CONSOLE_ARTIFACTS", TARGET / "console-artifacts"))

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class Dev:
    """A running `slipgate dev` with its own data and config directories."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="slipgate-console-"))
        self.config_home = self.dir / "config"
        data = self.dir / "data"
        self.log = open(self.dir / "dev.log", "wb")
        self.proc = subprocess.Popen(
            [str(BIN), "dev", "--data-dir", str(data),
             "--set", "server.listen=127.0.0.1:0", "--set", "server.admin_listen=127.0.0.1:0",
             "--set", "idp.listen=127.0.0.1:0",
             # No introspection cache: a revoked session is seen by the API's next request.
             "--set", "auth.cache_ttl=0s"],
            env={**os.environ, "XDG_CONFIG_HOME": str(self.config_home), "RUST_LOG": "info"},
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        dev_json = data / "dev.json"
        deadline = time.monotonic() + 60
        while not dev_json.exists():
            assert self.proc.poll() is None, f"slipgate dev exited: {(self.dir / 'dev.log').read_text()}"
            assert time.monotonic() < deadline, "dev.json not written within 60 s"
            time.sleep(0.05)
        self.info = json.loads(dev_json.read_text())
        self.api = self.info["api_url"]
        self.idp = self.info["idp_url"]
        self.data = data

    def password(self, user):
        return next(u["password"] for u in self.info["users"] if u["username"] == user)

    def cli(self, *args, stdin=None):
        """A `slipgate` client command with this dev's profile; returns stdout."""
        out = subprocess.run(
            [str(BIN), *args], input=stdin, capture_output=True, text=True, timeout=120,
            env={**os.environ, "XDG_CONFIG_HOME": str(self.config_home)},
        )
        assert out.returncode == 0, f"slipgate {args}: {out.stderr}"
        return out.stdout

    def spki_pin(self):
        """base64 SHA-256 of the server certificate's SPKI: chromium trusts exactly this key."""
        cert = self.data / "server.pem"
        pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"],
                             capture_output=True, check=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                             capture_output=True, check=True).stdout
        return base64.b64encode(hashlib.sha256(der).digest()).decode()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def dev():
    assert BIN.exists(), f"{BIN} is missing: cargo build -p slipgate-cli first"
    d = Dev()
    yield d
    d.stop()


@pytest.fixture(scope="session")
def browser(dev):
    assert Path(CHROMIUM).exists(), "chromium is missing: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[f"--ignore-certificate-errors-spki-list={dev.spki_pin()}", "--no-sandbox"],
        )
        yield b
        b.close()


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context):
    p = context.new_page()
    p.set_default_timeout(30000)
    return p


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
