"""The registry-key form cross-checked against an independent implementation, the PyPI
`http-message-signatures` package: each side verifies what the other signed, and the real API
accepts the package's signature. (That package always writes `keyid`, so it cannot make the
key-bound forms; those are checked against the documents' worked examples in test_vectors.py.)"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import urllib.request
from typing import Any

import httpx
import pytest
from conftest import ALICE, Dev
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms

from slipgate_client import RegistryKey
from slipgate_client.forms import sign_registry_request
from slipgate_client.httpsig import Message, SignatureInput, parse_dictionary, signature_base, target_uri_of

SECRET = bytes(range(1, 33))
URL = "https://127.0.0.1:8443/generate/salaryslip"
BODY = json.dumps({**ALICE, "working_days": 24}, separators=(",", ":")).encode()


def theirs(secret: bytes) -> tuple[Any, Any]:
    resolver = MappingKeyResolver(public_keys={"dev-hmac": secret}, private_keys={"dev-hmac": secret})
    return (
        HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=resolver),
        HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=resolver),
    )


def their_request(
    token: str, url: str = URL, secret: bytes = SECRET, created: int | None = None
) -> httpx.Request:
    request = httpx.Request(
        "POST",
        url,
        content=BODY,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    signer, _ = theirs(secret)
    when = (
        datetime.datetime.fromtimestamp(created, datetime.UTC)
        if created
        else datetime.datetime.now(datetime.UTC)
    )
    signer.sign(
        request,
        key_id="dev-hmac",
        label="sig1",
        nonce="0123456789abcdef0123",
        created=when,
        covered_component_ids=(
            "@method",
            "@path",
            "@authority",
            "content-type",
            "content-digest",
            "authorization",
        ),
        body=BODY,
    )
    return request


def test_our_registry_signature_verifies_with_http_message_signatures() -> None:
    ours = sign_registry_request(
        RegistryKey("dev-hmac", hmac_secret=SECRET),
        "POST",
        URL,
        [("Content-Type", "application/json"), ("Authorization", "Bearer example-token")],
        BODY,
        created=int(datetime.datetime.now(datetime.UTC).timestamp()),
        nonce="q4Kj2dVbX8mNcP1a",
    )
    headers = {"Content-Type": "application/json", "Authorization": "Bearer example-token"}
    headers.update(dict(ours.fields()))
    request = httpx.Request("POST", URL, content=BODY, headers=headers)
    _, verifier = theirs(SECRET)
    results = verifier.verify(request, body=BODY)
    assert len(results) == 1
    # A changed body or another secret is refused by the package too.
    with pytest.raises(Exception, match="(?i)digest"):
        verifier.verify(request, body=BODY.replace(b"24", b"25"))
    _, other = theirs(bytes(32))
    with pytest.raises(Exception, match="(?i)signature"):
        other.verify(request, body=BODY)


def test_their_registry_signature_has_the_base_we_build() -> None:
    request = their_request("example-token", created=1767225600)
    label, member = next(iter(parse_dictionary(request.headers["signature-input"]).items()))
    assert label == "sig1"
    sig = SignatureInput.from_parsed(member)
    # Their parameter order (created, keyid, alg, nonce) is signed as sent, and we rebuild it.
    assert [k for k, _ in sig.params] == ["created", "keyid", "alg", "nonce"]
    message = Message(list(request.headers.multi_items()), method="POST", url=str(request.url))
    base = signature_base(sig, message)
    expected = base64.b64encode(RegistryKey("dev-hmac", hmac_secret=SECRET).sign(base)).decode()
    assert request.headers["signature"] == f"sig1=:{expected}:"
    assert target_uri_of(str(request.url)) == URL


def test_the_api_accepts_a_request_signed_by_http_message_signatures(dev: Dev) -> None:
    tls = ssl.create_default_context(cafile=dev.ca)
    form = f"grant_type=password&username=alice&password={dev.password('alice')}".encode()
    token_request = urllib.request.Request(dev.idp_url + "/oauth/token", data=form, method="POST")
    with urllib.request.urlopen(token_request, context=tls, timeout=30) as r:
        token = json.load(r)["access_token"]
    secret = base64.b64decode(dev.key("dev-hmac")["secret_b64"])
    request = their_request(token, url=dev.api_url + "/generate/salaryslip", secret=secret)
    with httpx.Client(verify=tls) as http:
        answer = http.send(request)
        assert answer.status_code == 200, answer.text
        assert answer.json()["employee"] == ALICE
        # The same bytes again are a replay.
        again = http.send(request)
    assert again.status_code == 401
    assert again.json()["code"] == "replayed"
