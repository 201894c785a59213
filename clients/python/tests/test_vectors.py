"""Standard vectors and the documents' worked examples, byte for byte, plus the response checks
as an attacker would probe them. No server needed."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from slipgate_client import DeviceKey, RegistryKey
from slipgate_client.errors import ResponseVerificationError
from slipgate_client.forms import sign_bound_request, sign_registry_request, sign_token_request
from slipgate_client.httpsig import (
    Message,
    SignatureError,
    SignatureInput,
    content_digest,
    parse_dictionary,
    signature_base,
    verify_content_digest,
)
from slipgate_client.keys import _Ed25519, _Hmac
from slipgate_client.verify import check_response, parse_jwks, required_components, verify_response

WIRE = (REPO / "docs" / "wire-protocol.md").read_text()
SEED = b'{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}'


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def rfc_request() -> Message:
    head, _, _ = fixture("test-request.http").partition("\n\n")
    lines = head.split("\n")
    method, target, _ = lines[0].split(" ")
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    host = next(v for k, v in headers if k == "Host")
    return Message(headers, method=method, url=f"https://{host}{target}")


def rfc_input(name: str) -> tuple[str, SignatureInput]:
    label, member = next(iter(parse_dictionary(fixture(name)).items()))
    return label, SignatureInput.from_parsed(member)


def rfc_key() -> ed25519.Ed25519PrivateKey:
    key = serialization.load_pem_private_key((FIXTURES / "test-key-ed25519.key.pem").read_bytes(), None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


@pytest.mark.parametrize(
    ("vector", "signer"),
    [
        ("b25", lambda: _Hmac(base64.b64decode(fixture("test-shared-secret.b64")))),
        ("b26", lambda: _Ed25519(rfc_key())),
    ],
)
def test_rfc9421_b25_b26_bases_and_signatures_byte_for_byte(vector: str, signer: object) -> None:
    label, sig = rfc_input(f"{vector}-signature-input.txt")
    assert f"{label}={sig.serialize()}" == fixture(f"{vector}-signature-input.txt")
    base = signature_base(sig, rfc_request())
    assert base == (FIXTURES / f"{vector}-base.txt").read_bytes()
    key = signer()  # type: ignore[operator]
    value = base64.b64encode(key.sign(base)).decode()
    assert f"{label}=:{value}:" == fixture(f"{vector}-signature.txt")


def test_rfc9530_sha512_digest_of_the_rfc_request_verifies() -> None:
    message = rfc_request()
    verify_content_digest(message.field_values("content-digest")[0], b'{"hello": "world"}')
    with pytest.raises(SignatureError):
        verify_content_digest(message.field_values("content-digest")[0], b'{"hello": "World"}')


def test_worked_example_registry_hmac_matches_the_docs() -> None:
    key = RegistryKey("dev-hmac", hmac_secret="AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")
    headers = [("Content-Type", "application/json"), ("Authorization", "Bearer example-token")]
    url = "https://127.0.0.1:8443/generate/salaryslip"
    signed = sign_registry_request(
        key, "POST", url, headers, SEED, created=1767225600, nonce="q4Kj2dVbX8mNcP1a"
    )
    assert f"Content-Digest: {signed.content_digest}\n" in WIRE
    assert f"Signature-Input: {signed.signature_input}\n" in WIRE
    assert f"Signature: {signed.signature}\n" in WIRE
    assert "```\n" + signed.base.decode() + "\n```" in WIRE


def test_worked_example_signed_token_request_matches_the_docs() -> None:
    body = b"grant_type=password&username=alice&password=example-password&scope=salaryslip%3Aself"
    signed = sign_token_request(
        DeviceKey(rfc_key()),
        "https://127.0.0.1:8444/oauth/token",
        body,
        created=1767225600,
        nonce="b3k2pp5k7z-50gnX1b06",
    )
    for line in (
        f"Content-Digest: {signed.content_digest}",
        f"Signature-Input: {signed.signature_input}",
        f"Signature: {signed.signature}",
    ):
        assert line + "\n" in WIRE
    assert "```\n" + signed.base.decode() + "\n```" in WIRE
    assert DeviceKey(rfc_key()).thumbprint == "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U"
    assert '"pub":"' + DeviceKey(rfc_key()).htsk["pub"] + '"' in WIRE


def test_worked_example_bound_request_matches_the_docs() -> None:
    headers = [("Content-Type", "application/json"), ("Authorization", "HTTPSig example-token")]
    signed = sign_bound_request(
        DeviceKey(rfc_key()),
        "POST",
        "https://127.0.0.1:8443/generate/salaryslip",
        headers,
        SEED,
        created=1767225600,
        nonce="k9Jyxempel2305Nmx7Rk",
    )
    assert f"Signature-Input: {signed.signature_input}\n" in WIRE
    assert f"Signature: {signed.signature}\n" in WIRE
    assert "```\n" + signed.base.decode() + "\n```" in WIRE
    assert "keyid" not in signed.signature_input and "alg" not in signed.signature_input


def test_a_nonce_outside_the_alphabet_is_refused_before_signing() -> None:
    with pytest.raises(ValueError, match="nonce"):
        sign_bound_request(DeviceKey.generate(), "POST", "https://h/x", [], b"", created=1, nonce='a"b;c=d,e')


def test_hmac_secrets_shorter_than_32_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RegistryKey("k", hmac_secret=b"\x00" * 31)


def test_device_key_file_is_0600_reused_and_refused_when_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "device.pem"
    first = DeviceKey.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert DeviceKey.load_or_create(path).public_raw == first.public_raw
    assert "PRIVATE" not in repr(first) and first.thumbprint in repr(first)
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        DeviceKey.load_or_create(path)
    link = tmp_path / "link.pem"
    link.symlink_to(path)
    with pytest.raises(OSError):
        DeviceKey.load_or_create(link)


# --- response verification: an attacker's variations on one genuine answer -----------------

SERVER = ed25519.Ed25519PrivateKey.generate()
SERVER_PUB = SERVER.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
REQUEST = Message(
    [("Signature", "sig1=:AAAA:"), ("Signature-Input", 'sig1=("@method");created=1')],
    method="POST",
    url="https://127.0.0.1:8443/generate/salaryslip",
)


def answer(
    body: bytes = b'{"net_pay":"1.00"}',
    status: int = 200,
    components: list[str] | None = None,
    params: str = ';created=1767225600;keyid="k1";alg="ed25519"',
    request: Message = REQUEST,
) -> list[tuple[str, str]]:
    headers = [("Content-Type", "application/json"), ("Content-Digest", content_digest(body))]
    ids = components or [c.identifier() for c in required_components("sig1")]
    sig_input = f"res=({' '.join(ids)}){params}"
    _, sig = next(iter(parse_dictionary(sig_input).items()))
    parsed = SignatureInput.from_parsed(sig)
    base = signature_base(parsed, Message(headers, status=status, request=request))
    value = base64.b64encode(SERVER.sign(base)).decode()
    return [*headers, ("Signature-Input", sig_input), ("Signature", f"res=:{value}:")]


def verify(headers: list[tuple[str, str]], body: bytes = b'{"net_pay":"1.00"}', status: int = 200) -> None:
    keyid, _, signature, base = check_response(REQUEST, "sig1", status, headers, body)
    verify_response(parse_jwks(jwks()).get(keyid), status, signature, base)


def jwks() -> bytes:
    x = base64.urlsafe_b64encode(SERVER_PUB).rstrip(b"=").decode()
    return ('{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"' + x + '"}]}').encode()


def test_a_genuine_answer_verifies() -> None:
    verify(answer())


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("changed body", "digest does not match"),
        ("changed status", "does not verify"),
        ("other request", "does not verify"),
        ("no ;req binding", "does not cover"),
        ("binding to another label", "does not cover"),
        ("req=1 instead of req", "does not cover"),
        ("two digests", "more than once"),
        ("two signature inputs", "more than once"),
        ("another alg", "not ed25519"),
        ("unknown key", "unknown key"),
        ("no created", "no created"),
        ("signature with params", "no signature labelled"),
        ("duplicate dictionary member", "do not parse"),
    ],
)
def test_a_changed_answer_is_refused(case: str, why: str) -> None:
    body = b'{"net_pay":"1.00"}'
    status = 200
    ids = [c.identifier() for c in required_components("sig1")]
    headers = answer()
    if case == "changed body":
        body = b'{"net_pay":"9.00"}'
    elif case == "changed status":
        status = 201
    elif case == "other request":
        other = Message([("Signature", "sig1=:BBBB:")], method="POST", url=REQUEST.url)
        headers = answer(request=other)
    elif case == "no ;req binding":
        headers = answer(components=ids[:3])
    elif case in ("binding to another label", "req=1 instead of req"):
        # Not even signable; the covered list alone must be refused.
        swapped = (
            [*ids[:5], '"signature";req;key="sig2"']
            if case == "binding to another label"
            else [*ids[:3], '"@method";req=1', *ids[4:]]
        )
        text = f'res=({" ".join(swapped)});created=1767225600;keyid="k1";alg="ed25519"'
        headers = [(k, text if k == "Signature-Input" else v) for k, v in headers]
    elif case == "two digests":
        headers = [*headers, ("Content-Digest", content_digest(body))]
    elif case == "two signature inputs":
        headers = [*headers, ("Signature-Input", 'res=("@status");created=1')]
    elif case == "another alg":
        headers = answer(params=';created=1767225600;keyid="k1";alg="hmac-sha256"')
    elif case == "unknown key":
        headers = answer(params=';created=1767225600;keyid="k2";alg="ed25519"')
    elif case == "no created":
        headers = answer(params=';keyid="k1";alg="ed25519"')
    elif case == "signature with params":
        headers = [(k, v + ";x=1" if k == "Signature" else v) for k, v in headers]
    elif case == "duplicate dictionary member":
        headers = [(k, v + ", " + v if k == "Signature" else v) for k, v in headers]
    with pytest.raises(ResponseVerificationError) as e:
        verify(headers, body, status)
    assert why in e.value.detail, e.value.detail


def test_a_key_set_without_usable_keys_is_refused() -> None:
    for doc in (b"[]", b'{"keys":[{"kty":"EC","kid":"x"}]}', b"not json", b'{"keys":"x"}'):
        with pytest.raises(ResponseVerificationError):
            parse_jwks(doc)


def test_oversized_structured_fields_are_refused() -> None:
    with pytest.raises(SignatureError, match="too long"):
        parse_dictionary("a=" + "1" * 10000)
    assert re.fullmatch(r"[0-9a-f]{32}", __import__("slipgate_client.httpsig").httpsig.new_nonce())
