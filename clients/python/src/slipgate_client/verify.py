"""Verifying the API's response signatures (SPEC §3.8), on by default.

Every answer must carry a ``Content-Digest`` matching its body and a signature by one of the
trusted server keys covering ``"@status" "content-type" "content-digest" "@method";req
"@path";req "signature";req;key="sig1"``: the last three bind the answer to *this* request's
signature, so an answer cannot be changed, replayed onto another request or swapped.

Which keys are trusted (:class:`ServerKeys`): a JWKS given outright, or the set the API publishes
at ``/.well-known/slipgate-keys``, fetched once on first use and pinned for the client's life
(optionally in a 0600 pin file shared between runs). An answer signed by a key outside the pinned
set makes the client fetch the served set once: another set → :class:`ServerKeysChanged` (a
rotation to re-pin, or a man in the middle); the same set → the key is simply unknown.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ResponseVerificationError, ServerKeysChanged
from .httpsig import Component, Message, SignatureError, SignatureInput, parse_dictionary, signature_base
from .httpsig import verify_content_digest as _verify_digest
from .keys import verify_ed25519

__all__ = ["KEYS_PATH", "ServerKeys", "parse_jwks", "required_components", "verify_response"]

KEYS_PATH = "/.well-known/slipgate-keys"
MAX_JWKS = 64 * 1024


def refused(why: str, status: int = 0) -> ResponseVerificationError:
    return ResponseVerificationError("response_signature", why, status=status)


def parse_jwks(raw: bytes | Mapping[str, Any]) -> dict[str, bytes]:
    """``kid`` → raw Ed25519 public key, from a JWKS (bytes of JSON or a parsed mapping).
    Keys of other types are ignored; a set with no usable key is refused."""
    if isinstance(raw, bytes | bytearray):
        if len(raw) > MAX_JWKS:
            raise refused("the server key set is too large")
        try:
            doc: Any = json.loads(raw)
        except ValueError:
            raise refused("the server key set is not JSON") from None
    else:
        doc = raw
    keys = doc.get("keys") if isinstance(doc, Mapping) else None
    if not isinstance(keys, list):
        raise refused("the server key set has no keys array")
    out: dict[str, bytes] = {}
    for jwk in keys:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        kid, x = jwk.get("kid"), jwk.get("x")
        if not isinstance(kid, str) or not isinstance(x, str):
            continue
        try:
            public = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(public) == 32:
            out[kid] = public
    if not out:
        raise refused("the server key set holds no Ed25519 key")
    return out


class ServerKeys:
    """The response keys one client trusts.

    ``ServerKeys.fixed(jwks)`` trusts exactly the given set (a JWKS mapping, JSON bytes, or a
    path to a JWKS file such as dev's ``server-keys.json``); nothing is fetched.
    ``ServerKeys.pinned(pin_file=None)`` pins the API's published set on first use: in memory, or in
    ``pin_file`` (JSON, written 0600), where a set pinned by an earlier run is reused.
    """

    def __init__(self, keys: dict[str, bytes] | None, pin_file: Path | None, source: str) -> None:
        self._keys = keys
        self._pin_file = pin_file
        self.source = source
        self.fixed_set = keys is not None and source != "pinned"

    @classmethod
    def fixed(cls, jwks: Mapping[str, Any] | bytes | str | os.PathLike[str]) -> ServerKeys:
        if isinstance(jwks, str | os.PathLike):
            return cls(parse_jwks(Path(jwks).read_bytes()), None, f"from {jwks}")
        return cls(parse_jwks(jwks), None, "given to the client")

    @classmethod
    def pinned(cls, pin_file: str | os.PathLike[str] | None = None) -> ServerKeys:
        keys = None
        path = Path(pin_file) if pin_file is not None else None
        if path is not None and path.exists():
            keys = parse_jwks(path.read_bytes())
        return cls(keys, path, "pinned")

    @property
    def keys(self) -> dict[str, bytes] | None:
        """The trusted set, or ``None`` while nothing is pinned yet."""
        return self._keys

    def pin(self, served: dict[str, bytes]) -> None:
        """Pins ``served`` (first use, or an explicit re-pin after an announced rotation)."""
        if self.fixed_set:
            raise ValueError("a fixed server key set is never re-pinned")
        self._keys = dict(served)
        if self._pin_file is not None:
            doc = {
                "keys": [
                    {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": _b64url(raw)}
                    for kid, raw in sorted(served.items())
                ]
            }
            tmp = self._pin_file.with_name(self._pin_file.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                json.dump(doc, f)
            os.replace(tmp, self._pin_file)

    def changed(self, served: dict[str, bytes]) -> ResponseVerificationError:
        if served == self._keys:
            return refused("the answer is signed by a key the API does not publish")
        return ServerKeysChanged(
            "server_keys_changed",
            f"the API now serves the key set {sorted(served)} instead of the pinned"
            f" {sorted(self._keys or {})}"
            ": after an announced rotation pin again (ServerKeys.pin); otherwise someone is in the middle",
        )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def required_components(label: str | None) -> list[Component]:
    """What an answer's signature must cover (SPEC §3.8); the ``;req`` members when the request
    was signed under ``label``."""
    needed = [Component("@status"), Component("content-type"), Component("content-digest")]
    if label is not None:
        needed += [
            Component.of("@method", req=True),
            Component.of("@path", req=True),
            Component.of("signature", req=True, key=label),
        ]
    return needed


def _one(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name]
    if len(values) > 1:
        raise refused(f"the answer carries {name} more than once")
    return values[0] if values else None


def response_signature(headers: Sequence[tuple[str, str]]) -> tuple[str, SignatureInput, bytes]:
    """The first ``Signature-Input`` member, parsed, with its signature bytes."""
    sig_input, sig = _one(headers, "signature-input"), _one(headers, "signature")
    if sig_input is None or sig is None:
        raise refused("the answer is not signed")
    try:
        inputs, signatures = parse_dictionary(sig_input), parse_dictionary(sig)
        label = next(iter(inputs))
        parsed = SignatureInput.from_parsed(inputs[label])
    except (SignatureError, StopIteration) as e:
        raise refused(f"the answer's signature fields do not parse: {e}") from None
    member = signatures.get(label)
    if not (isinstance(member, tuple) and isinstance(member[0], bytes) and not member[1]):
        raise refused(f"the answer has no signature labelled {label}")
    return label, parsed, member[0]


def _same(a: Component, b: Component) -> bool:
    """Same name and parameters (in any order, of the same types: ``req=1`` is not ``req``)."""
    if a.name != b.name or len(a.params) != len(b.params):
        return False
    pa, pb = dict(a.params), dict(b.params)
    return pa.keys() == pb.keys() and all(type(pa[k]) is type(pb[k]) and pa[k] == pb[k] for k in pa)


def check_response(
    request: Message,
    label: str | None,
    status: int,
    headers: Sequence[tuple[str, str]],
    body: bytes,
) -> tuple[str, SignatureInput, bytes, bytes]:
    """Everything but the key lookup and the signature check: digest, covered components and
    parameters. Returns ``(keyid, input, signature, base)``."""
    try:
        _verify_digest(_one(headers, "content-digest"), body)
    except SignatureError as e:
        raise refused(f"the body does not match: {e}", status) from None
    _, sig, signature = response_signature(headers)
    for needed in required_components(label):
        if not any(_same(needed, c) for c in sig.components):
            raise refused(f"the answer's signature does not cover {needed.identifier()}", status)
    keyid, created, alg = sig.param("keyid"), sig.param("created"), sig.param("alg")
    if not isinstance(keyid, str) or isinstance(keyid, bool):
        raise refused("the answer's signature names no key", status)
    if not isinstance(created, int) or isinstance(created, bool):
        raise refused("the answer's signature has no created", status)
    if alg is not None and alg != "ed25519":
        raise refused(f"the answer is signed with {alg!r}, not ed25519", status)
    response = Message(headers, status=status, request=request)
    try:
        base = signature_base(sig, response)
    except SignatureError as e:
        raise refused(f"the answer's signature base cannot be built: {e}", status) from None
    return keyid, sig, signature, base


def verify_response(public: bytes | None, status: int, signature: bytes, base: bytes) -> None:
    if public is None:
        raise refused("the answer is signed by an unknown key", status)
    if not verify_ed25519(public, signature, base):
        raise refused("the answer's signature does not verify", status)
