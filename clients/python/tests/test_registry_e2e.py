"""End to end against a real `slipgate dev`, signing with the registry keys dev.json lists and
`Bearer` tokens (the service-client path, SPEC §3.2)."""

from __future__ import annotations

import logging
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import ALICE, PAULA, Dev, Employee
from mitm import Mitm

from slipgate_client import (
    AuthError,
    Client,
    Forbidden,
    GrantError,
    LoginRequired,
    RateLimited,
    RegistryKey,
    ResponseVerificationError,
    ServerKeysChanged,
    ValidationFailed,
)


def registry(dev: Dev, keyid: str) -> RegistryKey:
    entry = dev.key(keyid)
    if "secret_b64" in entry:
        return RegistryKey(keyid, hmac_secret=entry["secret_b64"])
    return RegistryKey(keyid, private_key_file=entry["private_key_file"])


def client(dev: Dev, keyid: str = "dev-hmac", **kw: Any) -> Client:
    return Client(dev.api_url, dev.idp_url, ca=dev.ca, registry_key=registry(dev, keyid), **kw)


def check_slip(slip: dict[str, Any], who: Employee) -> None:
    assert slip["employee"] == who
    for name in ("gross_earnings", "total_deductions", "net_pay"):
        assert isinstance(slip[name], Decimal), name
    assert slip["gross_earnings"] == sum(e["amount"] for e in slip["earnings"])
    assert slip["total_deductions"] == sum(d["amount"] for d in slip["deductions"])
    assert slip["net_pay"] == slip["gross_earnings"] - slip["total_deductions"]
    assert slip["net_pay"] > 0


@pytest.mark.parametrize("keyid", ["dev-hmac", "dev-ed25519", "dev-p256"])
def test_registry_key_json_slip_with_decimal_amounts(dev: Dev, keyid: str) -> None:
    with client(dev, keyid) as c:
        c.login("alice", dev.password("alice"))
        assert not c.token_bound
        slip = c.generate(**ALICE, working_days=24, period="2026-11")
        check_slip(slip, ALICE)
        assert slip["period"]["month"] == "2026-11"


def test_pdf_slip_has_the_employee_text(dev: Dev, tmp_path: Path) -> None:
    with client(dev) as c:
        c.login("alice", dev.password("alice"))
        pdf = c.generate(**ALICE, working_days=24, format="pdf")
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "slip.pdf").write_bytes(pdf)
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is needed"
    text = subprocess.run(
        [pdftotext, str(tmp_path / "slip.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Alice Example" in text
    assert "01234" in text


def test_another_employees_slip_raises_forbidden(dev: Dev) -> None:
    with client(dev) as c:
        c.login("alice", dev.password("alice"))
        with pytest.raises(Forbidden) as e:
            c.generate(**PAULA, working_days=24)
    assert e.value.code == "forbidden"
    assert e.value.status == 403
    assert e.value.request_id
    assert "8.1" not in str(e.value) and "Paula" not in e.value.detail


def test_a_name_not_on_record_raises_forbidden(dev: Dev) -> None:
    with client(dev) as c:
        c.login("alice", dev.password("alice"))
        with pytest.raises(Forbidden) as e:
            c.generate(**Employee(**{**ALICE, "emp_grade": "9.9"}), working_days=24)
    assert e.value.code == "forbidden"


def test_payroll_gets_any_slip_and_bad_fields_raise_validation_failed(dev: Dev) -> None:
    with client(dev, "dev-ed25519") as c:
        c.login("paula", dev.password("paula"))
        check_slip(c.generate(**ALICE, working_days=24), ALICE)
        with pytest.raises(ValidationFailed) as e:
            c.generate(emp_id="x" * 40, emp_code="ENG", emp_name="Bob", emp_grade="nope", working_days=99)
    assert e.value.code == "validation_failed" and e.value.status == 422
    fields = {err["field"] for err in e.value.errors}
    assert "emp_id" in fields


def test_wrong_password_raises_invalid_grant(dev: Dev) -> None:
    with client(dev) as c:
        with pytest.raises(GrantError) as e:
            c.login("alice", "not-her-password")
        assert e.value.code == "invalid_grant"
        with pytest.raises(LoginRequired):
            c.generate(**ALICE, working_days=24)


def test_a_wrong_type_is_refused_by_the_server_not_coerced(dev: Dev) -> None:
    with client(dev) as c:
        c.login("paula", dev.password("paula"))
        with pytest.raises(ValidationFailed) as e:
            c.generate(**ALICE, working_days="24")  # type: ignore[call-overload]
    assert any(err["field"] == "working_days" for err in e.value.errors)


def test_another_clients_key_id_with_a_wrong_secret_is_refused(dev: Dev) -> None:
    forged = RegistryKey("dev-hmac", hmac_secret=b"\x01" * 32)
    with Client(dev.api_url, dev.idp_url, ca=dev.ca, registry_key=forged) as c:
        c.login("alice", dev.password("alice"))
        with pytest.raises(AuthError) as e:
            c.generate(**ALICE, working_days=24)
    assert e.value.code == "signature_invalid" and e.value.status == 401


def test_logout_revokes_the_session(dev: Dev) -> None:
    with client(dev) as c:
        c.login("alice", dev.password("alice"))
        c.generate(**ALICE, working_days=24)
        tokens = c._session.tokens
        c.logout()
        with pytest.raises(LoginRequired):
            c.generate(**ALICE, working_days=24)
        # The revoked refresh token no longer works, from this client or any other.
        c._session.tokens = tokens
        with pytest.raises(LoginRequired) as e:
            c.refresh()
        assert e.value.code == "invalid_grant"


@pytest.fixture
def mitm(dev: Dev) -> Any:
    proxy = Mitm(Path(dev.json["ca_file"]).parent, dev.api_url, dev.ca)
    yield proxy
    proxy.close()


def through(dev: Dev, proxy: Mitm, **kw: Any) -> Client:
    return Client(proxy.url, dev.idp_url, ca=dev.ca, registry_key=registry(dev, "dev-hmac"), **kw)


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("flip_body", "does not match"),
        ("flip_body_fix_digest", "does not verify"),
        ("strip_signature", "not signed"),
        # The earlier answer is genuine, but bound to the earlier request's signature.
        ("replay", "does not verify"),
    ],
)
def test_a_tampered_answer_raises(dev: Dev, mitm: Mitm, mode: str, why: str) -> None:
    with through(dev, mitm) as c:
        c.login("alice", dev.password("alice"))
        first = c.generate(**ALICE, working_days=24)  # passes unchanged; pins the keys
        check_slip(first, ALICE)
        mitm.mode = mode
        with pytest.raises(ResponseVerificationError) as e:
            c.generate(**ALICE, working_days=23)
    assert not isinstance(e.value, ServerKeysChanged)
    assert e.value.code == "response_signature"
    assert why in e.value.detail
    for figure in (str(first["net_pay"]), str(first["gross_earnings"])):
        assert figure not in str(e.value)
    assert mitm.seen[-1] == 200, "the real answer was a success: only the change made it fail"


def test_a_tampered_error_answer_raises_too(dev: Dev, mitm: Mitm) -> None:
    with through(dev, mitm) as c:
        c.login("alice", dev.password("alice"))
        c.generate(**ALICE, working_days=24)
        mitm.mode = "flip_body_fix_digest"
        with pytest.raises(ResponseVerificationError):
            c.generate(**PAULA, working_days=24)
    assert mitm.seen[-1] == 403


def test_a_man_in_the_middle_with_his_own_keys_is_refused_after_pinning(dev: Dev, mitm: Mitm) -> None:
    with through(dev, mitm) as c:
        c.login("alice", dev.password("alice"))
        c.generate(**ALICE, working_days=24)
        mitm.mode = "resign"
        with pytest.raises(ServerKeysChanged) as e:
            c.generate(**ALICE, working_days=24)
        assert "mitm-key" in e.value.detail
        # Only an explicit re-pin (after an announced rotation) makes a new set trusted.
        assert c.repin_server_keys() == ["mitm-key"]
        check_slip(c.generate(**ALICE, working_days=24), ALICE)


def test_given_server_keys_refuse_a_resigned_answer_from_the_first_request(dev: Dev, mitm: Mitm) -> None:
    mitm.mode = "resign"
    keys = Path(dev.json["ca_file"]).parent / "server-keys.json"
    with through(dev, mitm, server_keys=keys) as c:
        c.login("alice", dev.password("alice"))
        with pytest.raises(ResponseVerificationError) as e:
            c.generate(**ALICE, working_days=24)
    assert "mitm-key" in e.value.detail


def test_pins_persist_in_a_0600_file_and_a_later_client_refuses_other_keys(
    dev: Dev, mitm: Mitm, tmp_path: Path
) -> None:
    pins = tmp_path / "pins.json"
    with client(dev, pin_file=pins) as c:
        c.login("alice", dev.password("alice"))
        c.generate(**ALICE, working_days=24)
    assert pins.stat().st_mode & 0o777 == 0o600
    mitm.mode = "resign"
    with through(dev, mitm, pin_file=pins) as c:
        c.login("alice", dev.password("alice"))
        with pytest.raises(ServerKeysChanged):
            c.generate(**ALICE, working_days=24)


def test_the_loud_opt_out_accepts_a_resigned_answer(
    dev: Dev, mitm: Mitm, caplog: pytest.LogCaptureFixture
) -> None:
    mitm.mode = "resign"
    with caplog.at_level(logging.WARNING, "slipgate_client"):
        c = through(dev, mitm, dangerously_skip_response_verification=True)
    assert "NOT verified" in caplog.text
    with c:
        c.login("alice", dev.password("alice"))
        check_slip(c.generate(**ALICE, working_days=24), ALICE)


def test_a_429_is_waited_out_and_signed_again(dev_limited: Dev, caplog: pytest.LogCaptureFixture) -> None:
    with client(dev_limited) as c:
        c.login("alice", dev_limited.password("alice"))
        with caplog.at_level(logging.INFO, "slipgate_client"):
            for _ in range(4):  # a burst of 2, then 429s with Retry-After
                check_slip(c.generate(**ALICE, working_days=24), ALICE)
    waits = [r for r in caplog.records if "Retry-After" in r.getMessage()]
    assert waits, "no 429 was waited out"
    # Every retry was signed afresh: a resent request would have been `replayed`.


def test_a_429_beyond_the_budget_raises_rate_limited(dev_limited: Dev) -> None:
    with client(dev_limited, max_retries=0) as c:
        c.login("alice", dev_limited.password("alice"))
        with pytest.raises(RateLimited) as e:
            for _ in range(10):
                c.generate(**ALICE, working_days=24)
    assert e.value.code == "rate_limited" and e.value.status == 429
    assert e.value.retry_after is not None and e.value.retry_after >= 1
