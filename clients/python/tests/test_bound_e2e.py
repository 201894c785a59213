"""Key-bound tokens end to end (SPEC §3.2.1, §4): the SDK's device key, and what a thief holding
someone else's token can do with it (nothing)."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import ALICE, PAULA, Dev

from slipgate_client import AuthError, Client, Forbidden, LoginRequired, RegistryKey


def bound(dev: Dev, **kw: Any) -> Client:
    return Client(dev.api_url, dev.idp_url, ca=dev.ca, **kw)


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_login_binds_the_token_to_the_device_key_and_gets_json_and_pdf(dev: Dev, tmp_path: Path) -> None:
    with bound(dev) as c:
        c.login("alice", dev.password("alice"))
        assert c.token_bound
        assert c.device_key is not None and c.device_key.path is None  # memory only
        assert c._session.tokens is not None
        assert claims(c._session.tokens.access_token)["cnf"] == {"htsk": c.device_key.htsk}
        slip = c.generate(**ALICE, working_days=24)
        assert slip["employee"] == ALICE
        pdf = c.generate(**ALICE, working_days=20, format="pdf")
    (tmp_path / "slip.pdf").write_bytes(pdf)
    pdftotext = shutil.which("pdftotext")
    assert pdftotext
    text = subprocess.run(
        [pdftotext, str(tmp_path / "slip.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Alice Example" in text


def test_a_bound_employee_asking_for_another_slip_is_forbidden(dev: Dev) -> None:
    with bound(dev) as c:
        c.login("alice", dev.password("alice"))
        with pytest.raises(Forbidden) as e:
            c.generate(**PAULA, working_days=24)
    assert e.value.code == "forbidden"


def test_a_device_key_file_is_0600_survives_a_restart_and_logout_deletes_it(dev: Dev, tmp_path: Path) -> None:
    path = tmp_path / "slipgate" / "device.pem"
    with bound(dev, device_key_file=path) as c:
        c.login("paula", dev.password("paula"))
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        tokens = c._session.tokens
    # A new process with the same file can refresh the bound session and use it.
    with bound(dev, device_key_file=path) as later:
        later._session.tokens = tokens
        later._session.device_key = None
        later._session._device_key()
        later.refresh()
        assert later.generate(**ALICE, working_days=24)["employee"] == ALICE
        later.logout()
    assert not path.exists()


def test_a_stolen_bound_token_is_worth_nothing_without_its_key(dev: Dev) -> None:
    with bound(dev) as victim, bound(dev) as thief:
        victim.login("alice", dev.password("alice"))
        thief.login("paula", dev.password("paula"))  # the thief has a key and a token of his own
        stolen = victim._session.tokens
        assert stolen is not None
        thief._session.tokens = stolen
        # Signed with the thief's key: the token names the victim's key.
        with pytest.raises(AuthError) as e:
            thief.generate(**ALICE, working_days=24)
        assert e.value.code == "signature_invalid"
        # The refresh token is bound too: a refresh signed by another key is refused.
        thief._session.tokens = stolen
        with pytest.raises(LoginRequired) as refused:
            thief.refresh()
        assert refused.value.code == "invalid_grant"
    # Presented as Bearer with a registry key, the bound token is refused as well.
    registry = RegistryKey("dev-hmac", hmac_secret=dev.key("dev-hmac")["secret_b64"])
    with Client(dev.api_url, dev.idp_url, ca=dev.ca, registry_key=registry) as service:
        # Without the refresh token, so the API's own answer surfaces (not a refresh refusal).
        service._session.tokens = dataclasses.replace(stolen, bound=False, refresh_token=None)
        with pytest.raises(AuthError) as e:
            service.generate(**ALICE, working_days=24)
        assert e.value.code == "token_invalid"


def test_logout_revokes_the_bound_session(dev: Dev) -> None:
    with bound(dev) as c:
        c.login("alice", dev.password("alice"))
        key, tokens = c.device_key, c._session.tokens
        c.logout()
        assert c.device_key is None and not c.logged_in
        c._session.device_key, c._session.tokens = key, tokens
        with pytest.raises(AuthError) as e:
            c.generate(**ALICE, working_days=24)
    assert e.value.code in ("token_invalid", "invalid_grant")
