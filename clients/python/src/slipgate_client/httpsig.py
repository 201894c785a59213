"""RFC 9421 signature bases and RFC 9530 digests, as Slipgate builds and checks them.

Pure functions, no I/O. Structured fields are parsed and serialized by ``http-sf`` (RFC 9651);
the signature base is written here because no library produces the key-bound forms (the PyPI
``http-message-signatures`` package always writes ``keyid``). docs/wire-protocol.md §3 and §10
describe every line; tests/test_vectors.py checks RFC 9421 B.2.5/B.2.6 and the worked examples
byte for byte.

Threats covered: a body changed in transit (the digest is covered), a request moved to another
endpoint or host (``@method``, ``@target-uri``/``@path``/``@authority``), a token moved onto another
request (``authorization`` is covered). Not covered here: freshness and replay, which the server
decides from ``created`` and ``nonce``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import http_sf
from http_sf.types import BareItemType, InnerListType, ItemType, ParamsType

__all__ = [
    "Component",
    "Message",
    "SignatureInput",
    "authority_of",
    "content_digest",
    "new_nonce",
    "parse_dictionary",
    "signature_base",
    "target_uri_of",
    "verify_content_digest",
]

MAX_FIELD = 8192
"""Longest structured field this module parses (untrusted input, bounded)."""


class SignatureError(ValueError):
    """A structured field or a component could not be parsed or resolved."""


@dataclass(frozen=True)
class Component:
    """A covered component: ``"@method"``, ``"content-digest"``, ``"signature";req;key="sig1"``."""

    name: str
    params: tuple[tuple[str, BareItemType], ...] = ()

    @classmethod
    def of(cls, name: str, **params: BareItemType) -> Component:
        return cls(name, tuple(params.items()))

    def param(self, key: str) -> BareItemType | None:
        return dict(self.params).get(key)

    @property
    def plain(self) -> bool:
        return not self.params

    def identifier(self) -> str:
        """The serialized component identifier, as it stands in the base."""
        return http_sf.ser((self.name, dict(self.params)))


@dataclass(frozen=True)
class SignatureInput:
    """One member of ``Signature-Input``: the covered list and the parameters, in order."""

    components: tuple[Component, ...]
    params: tuple[tuple[str, BareItemType], ...]

    def param(self, key: str) -> BareItemType | None:
        return dict(self.params).get(key)

    def serialize(self) -> str:
        """The inner list as it follows ``label=`` (and ``"@signature-params": ``)."""
        inner: InnerListType = (
            [cast(ItemType, (c.name, dict(c.params))) for c in self.components],
            dict(self.params),
        )
        text = http_sf.ser({"x": inner})
        return text[2:]

    @classmethod
    def from_parsed(cls, member: object) -> SignatureInput:
        """From one ``http_sf`` dictionary member; refuses anything but an inner list of strings."""
        if not (isinstance(member, tuple) and len(member) == 2 and isinstance(member[0], list)):
            raise SignatureError("a Signature-Input member is not an inner list")
        items, params = member
        components = []
        for item in items:
            if not (isinstance(item, tuple) and isinstance(item[0], str) and not _is_token(item[0])):
                raise SignatureError("a covered component is not a string")
            components.append(Component(item[0], tuple(cast(ParamsType, item[1]).items())))
        return cls(tuple(components), tuple(cast(ParamsType, params).items()))


def _is_token(value: object) -> bool:
    return isinstance(value, http_sf.Token)


@dataclass
class Message:
    """What a signature base is built from: a request (method and URL) or a response (status),
    with its header field lines in order. A response's ``request`` serves ``;req`` components."""

    headers: Sequence[tuple[str, str]]
    method: str | None = None
    url: str | None = None
    status: int | None = None
    request: Message | None = field(default=None, repr=False)

    def field_values(self, name: str) -> list[str]:
        lower = name.lower()
        return [v for k, v in self.headers if k.lower() == lower]


def authority_of(url: str) -> str:
    """RFC 9421 ``@authority``: ``host[:port]``, lowercased, the scheme's default port omitted."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise SignatureError("the URL has no host")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return host if port is None or port == default else f"{host}:{port}"


def target_uri_of(url: str) -> str:
    """RFC 9421 ``@target-uri``: ``scheme://authority/path?query``, as the server rebuilds it."""
    parts = urlsplit(url)
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{authority_of(url)}{path}{query}"


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` with SHA-256 over the exact body bytes."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def verify_content_digest(value: str | None, body: bytes) -> None:
    """Checks a received ``Content-Digest`` against the body: every ``sha-256``/``sha-512`` member
    must match (constant time), and at least one must be present."""
    if value is None:
        raise SignatureError("no Content-Digest")
    digests = parse_dictionary(value)
    known = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
    seen = False
    for name, member in digests.items():
        if name not in known:
            continue
        got = member[0] if isinstance(member, tuple) else None
        if not isinstance(got, bytes):
            raise SignatureError(f"the {name} digest is not a byte sequence")
        if not hmac.compare_digest(got, known[name](body).digest()):
            raise SignatureError(f"the {name} digest does not match the body")
        seen = True
    if not seen:
        raise SignatureError("Content-Digest has no sha-256 or sha-512 member")


def parse_dictionary(value: str) -> dict[str, object]:
    """An RFC 9651 dictionary; a duplicate key or an oversized field is refused."""
    if len(value) > MAX_FIELD:
        raise SignatureError("structured field too long")

    def duplicate(key: str, _context: str) -> None:
        raise SignatureError(f"duplicate member {key!r}")

    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary", on_duplicate_key=duplicate)
    except (http_sf.StructuredFieldError, UnicodeEncodeError) as e:
        raise SignatureError(f"unparsable structured field: {e}") from None
    return cast(dict[str, object], parsed)


def _component_value(component: Component, message: Message) -> str:
    if component.param("req") is True:
        if message.request is None:
            raise SignatureError(f"{component.identifier()} needs the request")
        inner = Component(component.name, tuple((k, v) for k, v in component.params if k != "req"))
        return _component_value(inner, message.request)
    name = component.name
    if name.startswith("@"):
        if component.params:
            raise SignatureError(f"unsupported parameters on {name}")
        return _derived(name, message)
    values = message.field_values(name)
    if not values:
        raise SignatureError(f"the message has no {name} field")
    for v in values:
        if any(c in v for c in "\r\n\0"):
            raise SignatureError(f"the {name} field holds CR, LF or NUL")
    joined = ", ".join(v.strip(" \t") for v in values)
    key = component.param("key")
    if key is not None:
        if not isinstance(key, str) or len(component.params) != 1:
            raise SignatureError(f"unsupported parameters on {name}")
        members = parse_dictionary(joined)
        if key not in members:
            raise SignatureError(f"the {name} field has no member {key!r}")
        return http_sf.ser(cast(ItemType, members[key]))
    if component.params:
        raise SignatureError(f"unsupported parameters on {name}")
    return joined


def _derived(name: str, message: Message) -> str:
    if name == "@status":
        if message.status is None:
            raise SignatureError("@status of a request")
        return f"{message.status:03d}"
    if message.method is None or message.url is None:
        raise SignatureError(f"{name} of a response")
    parts = urlsplit(message.url)
    if name == "@method":
        return message.method.upper()
    if name == "@target-uri":
        return target_uri_of(message.url)
    if name == "@authority":
        return authority_of(message.url)
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@path":
        return parts.path or "/"
    if name == "@query":
        return f"?{parts.query}"
    if name == "@request-target":
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    raise SignatureError(f"unsupported derived component {name}")


def signature_base(sig: SignatureInput, message: Message) -> bytes:
    """RFC 9421 §2.5: one ``"id": value`` line per component, then ``"@signature-params"``,
    joined with LF, no trailing newline."""
    lines = []
    seen: set[str] = set()
    for component in sig.components:
        ident = component.identifier()
        if ident in seen:
            raise SignatureError(f"{ident} covered twice")
        seen.add(ident)
        lines.append(f"{ident}: {_component_value(component, message)}")
    lines.append(f'"@signature-params": {sig.serialize()}')
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError:
        raise SignatureError("a covered value is not ASCII") from None


def signature_input(components: Iterable[str], params: Sequence[tuple[str, BareItemType]]) -> SignatureInput:
    return SignatureInput(tuple(Component(c) for c in components), tuple(params))


def new_nonce() -> str:
    """128 bits from the CSPRNG, hex: 32 chars of the SPEC's nonce alphabet."""
    return secrets.token_hex(16)
