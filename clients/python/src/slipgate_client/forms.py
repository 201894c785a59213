"""The three request signature forms Slipgate accepts (docs/wire-protocol.md §3, §10).

- registry key (SPEC §3.2): ``("@method" "@path" "@authority" "content-type" "content-digest"
  "authorization");created;nonce;keyid;alg``
- signed token request (SPEC §4): ``("@method" "@target-uri" "content-digest");created;nonce;
  tag="httpsig-oauth-token-request";alg="ed25519";pub=:<raw key>:`` — no ``keyid``
- key-bound request (SPEC §3.2.1): ``("@method" "@target-uri" "authorization" "content-type"
  "content-digest");created;nonce;tag="httpsig-oauth"`` — no ``keyid``, ``alg`` or ``pub``

Each returns the fields to send (``Content-Digest``, ``Signature-Input``, ``Signature``) and the
signature base, so tests can compare both with the documents.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from http_sf.types import BareItemType

from .httpsig import Message, SignatureInput, content_digest, signature_base, signature_input
from .keys import DeviceKey, RegistryKey

__all__ = [
    "BOUND_COMPONENTS",
    "BOUND_TAG",
    "LABEL",
    "REGISTRY_COMPONENTS",
    "TOKEN_REQUEST_COMPONENTS",
    "TOKEN_REQUEST_TAG",
    "Signed",
    "sign_bound_request",
    "sign_registry_request",
    "sign_token_request",
]

LABEL = "sig1"
REGISTRY_COMPONENTS = ("@method", "@path", "@authority", "content-type", "content-digest", "authorization")
TOKEN_REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest")
BOUND_COMPONENTS = ("@method", "@target-uri", "authorization", "content-type", "content-digest")
TOKEN_REQUEST_TAG = "httpsig-oauth-token-request"  # noqa: S105 - a tag, not a secret
BOUND_TAG = "httpsig-oauth"
_NONCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-")


@dataclass(frozen=True)
class Signed:
    """What signing added: the three fields, the base that was signed, and the input."""

    content_digest: str
    signature_input: str
    signature: str
    base: bytes
    input: SignatureInput

    def fields(self) -> list[tuple[str, str]]:
        return [
            ("Content-Digest", self.content_digest),
            ("Signature-Input", self.signature_input),
            ("Signature", self.signature),
        ]


def _check_nonce(nonce: str) -> None:
    if not (8 <= len(nonce) <= 128 and set(nonce) <= _NONCE_CHARS):
        raise ValueError("a nonce must be 8-128 chars of [A-Za-z0-9._~+/=-]")


def _sign(
    sign: DeviceKey | RegistryKey,
    components: Sequence[str],
    params: list[tuple[str, BareItemType]],
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
) -> Signed:
    digest = content_digest(body)
    sig = signature_input(components, params)
    message = Message([*headers, ("Content-Digest", digest)], method=method, url=url)
    base = signature_base(sig, message)
    value = base64.b64encode(sign.sign(base)).decode("ascii")
    return Signed(digest, f"{LABEL}={sig.serialize()}", f"{LABEL}=:{value}:", base, sig)


def sign_registry_request(
    key: RegistryKey,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    created: int,
    nonce: str,
) -> Signed:
    """Signs with a registry key; ``headers`` must hold ``Content-Type`` and ``Authorization``."""
    _check_nonce(nonce)
    params: list[tuple[str, BareItemType]] = [
        ("created", created),
        ("nonce", nonce),
        ("keyid", key.key_id),
        ("alg", key.alg),
    ]
    return _sign(key, REGISTRY_COMPONENTS, params, method, url, headers, body)


def sign_token_request(
    key: DeviceKey,
    url: str,
    body: bytes,
    *,
    created: int,
    nonce: str,
    authorization: str | None = None,
) -> Signed:
    """Signs a token request (form body) with the run-time key shown in ``pub``; covers
    ``authorization`` too when the client authenticates with HTTP Basic."""
    _check_nonce(nonce)
    components = list(TOKEN_REQUEST_COMPONENTS)
    headers: list[tuple[str, str]] = []
    if authorization is not None:
        components.append("authorization")
        headers.append(("Authorization", authorization))
    params: list[tuple[str, BareItemType]] = [
        ("created", created),
        ("nonce", nonce),
        ("tag", TOKEN_REQUEST_TAG),
        ("alg", key.alg),
        ("pub", key.public_raw),
    ]
    return _sign(key, components, params, "POST", url, headers, body)


def sign_bound_request(
    key: DeviceKey,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    created: int,
    nonce: str,
) -> Signed:
    """Signs a request carrying ``Authorization: HTTPSig <token>`` with the bound key."""
    _check_nonce(nonce)
    params: list[tuple[str, BareItemType]] = [("created", created), ("nonce", nonce), ("tag", BOUND_TAG)]
    return _sign(key, BOUND_COMPONENTS, params, method, url, headers, body)
