"""The client's logic, once, without I/O: login, refresh, logout, generate, retries, response checks.

Each operation is a generator that yields what it needs done — send a request, sleep, take or
give back the refresh lock — and receives the result. :class:`slipgate_client.Client` runs these
with ``httpx.Client``, :class:`slipgate_client.AsyncClient` with ``httpx.AsyncClient``; neither has
any logic of its own, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypeVar
from urllib.parse import urlencode

from ._transport import DESCRIBE, parse_origin
from .errors import (
    LoginRequired,
    NotBound,
    RateLimited,
    ResponseVerificationError,
    ServerError,
    SlipgateError,
    TransportError,
    Unavailable,
    WrongService,
    from_grant_error,
    from_problem,
)
from .forms import LABEL, sign_bound_request, sign_registry_request, sign_token_request
from .httpsig import Message, new_nonce
from .keys import DeviceKey, RegistryKey
from .verify import KEYS_PATH, ServerKeys, check_response, parse_jwks, refused, verify_response

PUBLIC_CLIENT = "slipgate-cli"
GENERATE_PATH = "/generate/salaryslip"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
REVOKE_PATH = "/oauth/revoke"
MAX_BODY = 16 * 1024 * 1024
"""Largest answer read (a PDF slip is well under 1 MiB)."""

Format = Literal["json", "pdf"]


@dataclass(frozen=True)
class Send:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name]
        return values[0] if len(values) == 1 else None


@dataclass(frozen=True)
class Failed:
    """The request got no answer (connection, TLS, timeout, an oversized body); ``error`` is
    the typed cause when the driver could name it."""

    why: str
    error: TransportError | None = None


@dataclass(frozen=True)
class Sleep:
    seconds: float


class Acquire:
    """Take the refresh lock (one refresh at a time: a reused refresh token ends the session)."""


class Release:
    """Give the refresh lock back."""


Op = Send | Sleep | Acquire | Release
T = TypeVar("T")
Flow: TypeAlias = Generator[Op, object, T]
Slip: TypeAlias = dict[str, Any] | bytes


@dataclass
class Tokens:
    access_token: str
    bound: bool
    refresh_token: str | None
    expires_at: float
    scope: str

    def __repr__(self) -> str:
        return f"Tokens(<redacted>, bound={self.bound}, scope={self.scope!r})"


def _send(request: Send) -> Generator[Op, object, Reply]:
    result = yield request
    if isinstance(result, Failed):
        raise result.error or TransportError("transport", result.why)
    assert isinstance(result, Reply)
    return result


def retry_after(reply: Reply) -> float | None:
    """``Retry-After`` in its delay-seconds form (what Slipgate sends)."""
    value = reply.header("retry-after")
    if value is None or not value.strip().isdigit():
        return None
    return float(int(value.strip()))


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise ValueError(f"duplicate member {k!r}")
            out[k] = v
        return out

    try:
        doc = json.loads(body, object_pairs_hook=no_duplicates)
    except ValueError as e:
        raise ServerError("invalid_response", f"{what} is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ServerError("invalid_response", f"{what} is not a JSON object")
    return doc


def _media_type(reply: Reply) -> str:
    return (reply.header("content-type") or "").split(";")[0].strip().lower()


_AMOUNT = re.compile(r"-?[0-9]{1,15}\.[0-9]{2}")


def _amount(value: object, where: str) -> Decimal:
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise ServerError("invalid_response", f"{where} is not a decimal amount with two fraction digits")
    return Decimal(value)


def slip_with_decimals(slip: dict[str, Any]) -> dict[str, Any]:
    """The slip with every amount as ``decimal.Decimal`` (SPEC §3.5: exact, never float)."""
    for name in ("gross_earnings", "total_deductions", "net_pay"):
        slip[name] = _amount(slip.get(name), name)
    for group in ("earnings", "deductions"):
        lines = slip.get(group)
        if not isinstance(lines, list):
            raise ServerError("invalid_response", f"{group} is not a list")
        for i, line in enumerate(lines):
            if not isinstance(line, dict):
                raise ServerError("invalid_response", f"{group}[{i}] is not an object")
            line["amount"] = _amount(line.get("amount"), f"{group}[{i}].amount")
    return slip


class Session:
    """State shared by a client's operations, and the operations as flows."""

    def __init__(
        self,
        api_url: str,
        idp_url: str,
        *,
        registry_key: RegistryKey | None,
        device_key_file: str | os.PathLike[str] | None,
        server_keys: ServerKeys | None,
        retry_budget: float,
        max_retries: int,
        clock: Callable[[], float],
        client_id: str | None,
    ) -> None:
        # Before any connection: InvalidUrl (a ValueError) says what to write instead.
        self.api_url = parse_origin(api_url, "api")
        self.idp_url = parse_origin(idp_url, "idp")
        self.registry_key = registry_key
        self.device_key_file = Path(device_key_file) if device_key_file is not None else None
        self.device_key: DeviceKey | None = None
        self.server_keys = server_keys
        self.retry_budget = retry_budget
        self.max_retries = max_retries
        self.clock = clock
        self.client_id = client_id
        self.tokens: Tokens | None = None

    # --- identity server -------------------------------------------------------------------

    def _device_key(self) -> DeviceKey:
        if self.device_key is None:
            if self.device_key_file is not None:
                self.device_key = DeviceKey.load_or_create(self.device_key_file)
            else:
                self.device_key = DeviceKey.generate()
        return self.device_key

    def _token_request(self, form: list[tuple[str, str]], bound: bool) -> Flow[Tokens]:
        if self.client_id is not None:
            form.append(("client_id", self.client_id))
        body = urlencode(form).encode("ascii")
        url = self.idp_url + TOKEN_PATH
        headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        if bound:
            signed = sign_token_request(
                self._device_key(), url, body, created=int(self.clock()), nonce=new_nonce()
            )
            headers += signed.fields()
        reply = yield from _send(Send("POST", url, headers, body))
        if reply.status != 200:
            doc = _grant_error_body(reply)
            if _is_problem(doc):
                raise WrongService(
                    self.idp_url,
                    DESCRIBE["idp"],
                    DESCRIBE["api"],
                    f"it answered {reply.status} with a Slipgate problem ({doc.get('code')!r}) where the "
                    "identity server answers OAuth errors; pass the API's URL as api_url and the identity "
                    "server's as idp_url",
                    status=reply.status,
                )
            raise from_grant_error(reply.status, doc, retry_after(reply))
        return self._tokens(reply, bound)

    def _tokens(self, reply: Reply, bound: bool) -> Tokens:
        doc = _json_object(reply.body, "the token answer")
        access, kind, expires_in = doc.get("access_token"), doc.get("token_type"), doc.get("expires_in")
        refresh, scope = doc.get("refresh_token"), doc.get("scope", "")
        if not (isinstance(access, str) and access and isinstance(kind, str)):
            raise ServerError("invalid_response", "the token answer lacks access_token or token_type")
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            raise ServerError("invalid_response", "the token answer's expires_in is not a positive integer")
        if refresh is not None and not isinstance(refresh, str):
            raise ServerError("invalid_response", "the token answer's refresh_token is not a string")
        is_bound = kind.lower() == "httpsig"
        if bound and not is_bound:
            raise NotBound(
                "token_not_bound",
                f"the identity server answered the signed token request with a {kind!r} token, not an "
                "httpsig one: it does not bind tokens to device keys (give a registry key instead)",
            )
        if not is_bound and kind.lower() != "bearer":
            raise ServerError("invalid_response", f"unknown token_type {kind!r}")
        return Tokens(access, is_bound, refresh, self.clock() + expires_in, str(scope))

    def login(self, username: str, password: str, scope: str | None) -> Flow[None]:
        form = [("grant_type", "password"), ("username", username), ("password", password)]
        if scope is not None:
            form.append(("scope", scope))
        yield Acquire()
        self.tokens = yield from self._token_request(form, bound=self.registry_key is None)
        yield Release()
        return None

    def _refresh_locked(self) -> Flow[None]:
        tokens = self.tokens
        if tokens is None or tokens.refresh_token is None:
            raise LoginRequired("login_required", "no refresh token: log in")
        form = [("grant_type", "refresh_token"), ("refresh_token", tokens.refresh_token)]
        try:
            fresh = yield from self._token_request(form, bound=tokens.bound)
        except SlipgateError as e:
            if e.code in ("invalid_grant", "invalid_client"):
                self.tokens = None
                raise LoginRequired(e.code, f"the session ended ({e.detail}): log in again") from None
            raise
        if fresh.refresh_token is None:
            fresh.refresh_token = tokens.refresh_token
        self.tokens = fresh
        return None

    def refresh(self, seen: Tokens | None = None) -> Flow[None]:
        """Refreshes, unless another operation already replaced ``seen`` meanwhile."""
        yield Acquire()
        if seen is None or self.tokens is seen:
            yield from self._refresh_locked()
        yield Release()
        return None

    def logout(self) -> Flow[None]:
        tokens, self.tokens = self.tokens, None
        key, self.device_key = self.device_key, None
        if key is None and self.device_key_file is not None:
            self.device_key_file.unlink(missing_ok=True)
        if key is not None:
            key.delete()
        if tokens is None:
            return None
        token, hint = (
            (tokens.refresh_token, "refresh_token")
            if tokens.refresh_token
            else (tokens.access_token, "access_token")
        )
        form = [("token", token), ("token_type_hint", hint), ("client_id", self.client_id or PUBLIC_CLIENT)]
        body = urlencode(form).encode("ascii")
        headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        reply = yield from _send(Send("POST", self.idp_url + REVOKE_PATH, headers, body))
        if reply.status != 200:
            raise from_grant_error(reply.status, _grant_error_body(reply), retry_after(reply))
        return None

    # --- the API -------------------------------------------------------------------------

    def _sign_api(self, tokens: Tokens, body: bytes, accept: str) -> tuple[Send, Message]:
        url = self.api_url + GENERATE_PATH
        created, nonce = int(self.clock()), new_nonce()
        if tokens.bound:
            assert self.device_key is not None
            base = [("Content-Type", "application/json"), ("Authorization", f"HTTPSig {tokens.access_token}")]
            signed = sign_bound_request(
                self.device_key, "POST", url, base, body, created=created, nonce=nonce
            )
        elif self.registry_key is not None:
            base = [("Content-Type", "application/json"), ("Authorization", f"Bearer {tokens.access_token}")]
            signed = sign_registry_request(
                self.registry_key, "POST", url, base, body, created=created, nonce=nonce
            )
        else:
            raise LoginRequired("login_required", "a Bearer token needs a registry key to sign with")
        headers = [*base, ("Accept", accept), *signed.fields()]
        return Send("POST", url, headers, body), Message(headers, method="POST", url=url)

    def _fetch_server_keys(self) -> Generator[Op, object, dict[str, bytes]]:
        reply = yield from _send(Send("GET", self.api_url + KEYS_PATH, [("Accept", "application/json")], b""))
        if reply.status != 200:
            raise self._wrong_api(reply) or refused(
                f"fetching the server keys answered {reply.status}", reply.status
            )
        return parse_jwks(reply.body)

    def repin(self) -> Flow[list[str]]:
        """Pins the key set the API serves now (after an announced rotation); its key ids."""
        trust = self.server_keys
        if trust is None or trust.fixed_set:
            raise ValueError("only keys pinned on first use can be pinned again")
        served = yield from self._fetch_server_keys()
        trust.pin(served)
        return sorted(served)

    def _wrong_api(self, reply: Reply) -> WrongService | None:
        """When an answer that should be the API's is the identity server's: unsigned, and an
        OAuth error (the API signs every answer and sends RFC 9457 problems)."""
        if reply.header("signature") is not None:
            return None
        try:
            doc = _json_object(reply.body, "the answer")
        except ServerError:
            return None
        error = doc.get("error")
        if not isinstance(error, str) or _is_problem(doc):
            return None
        return WrongService(
            self.api_url,
            DESCRIBE["api"],
            DESCRIBE["idp"],
            f"it answered {reply.status} with an unsigned OAuth error ({error!r}) where the API signs every "
            "answer; pass the identity server's URL as idp_url and the API's as api_url",
            status=reply.status,
        )

    def _verify(self, request: Message, reply: Reply) -> Flow[None]:
        trust = self.server_keys
        if trust is None:  # dangerously_skip_response_verification
            return None
        try:
            keyid, _, signature, base = check_response(
                request, LABEL, reply.status, reply.headers, reply.body
            )
        except ResponseVerificationError as e:
            raise self._wrong_api(reply) or e from None
        keys = trust.keys
        if keys is None:
            served = yield from self._fetch_server_keys()
            trust.pin(served)
            keys = served
        if keyid not in keys:
            if trust.fixed_set:
                raise refused(
                    f"the answer is signed by key {keyid!r}, outside the server key set {trust.source}"
                )
            served = yield from self._fetch_server_keys()
            raise trust.changed(served)
        verify_response(keys[keyid], reply.status, signature, base)
        return None

    def generate(self, payload: Mapping[str, object], fmt: Format) -> Flow[Slip]:
        if fmt not in ("json", "pdf"):
            raise ValueError("format must be 'json' or 'pdf'")
        accept = "application/pdf" if fmt == "pdf" else "application/json"
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        retries, waited, refreshed = 0, 0.0, False
        while True:
            tokens = self.tokens
            if tokens is None:
                raise LoginRequired("login_required", "not logged in: call login() first")
            if not refreshed and tokens.refresh_token and self.clock() >= tokens.expires_at - 5:
                refreshed = True
                yield from self.refresh(tokens)
                continue
            request, sent = self._sign_api(tokens, body, accept)
            reply = yield from _send(request)
            yield from self._verify(sent, reply)
            if reply.status == 200:
                return _slip(reply, fmt)
            error = _api_error(reply)
            if error.code == "token_invalid" and not refreshed and tokens.refresh_token:
                refreshed = True
                yield from self.refresh(tokens)
                continue
            if isinstance(error, RateLimited | Unavailable) and error.retry_after is not None:
                wait = error.retry_after
                if retries < self.max_retries and waited + wait <= self.retry_budget:
                    retries += 1
                    waited += wait
                    yield Sleep(wait)
                    continue
            raise error


def _slip(reply: Reply, fmt: Format) -> Slip:
    media = _media_type(reply)
    if fmt == "pdf":
        if media != "application/pdf" or not reply.body.startswith(b"%PDF-"):
            raise ServerError("invalid_response", f"asked for a PDF, got {media or 'no content type'}")
        return reply.body
    if media != "application/json":
        raise ServerError("invalid_response", f"asked for JSON, got {media or 'no content type'}")
    return slip_with_decimals(_json_object(reply.body, "the slip"))


def _api_error(reply: Reply) -> SlipgateError:
    if _media_type(reply) == "application/problem+json":
        try:
            problem = _json_object(reply.body, "the problem")
        except ServerError:
            problem = {}
    else:
        problem = {}
    return from_problem(reply.status, problem, retry_after(reply))


def _is_problem(doc: Mapping[str, Any]) -> bool:
    """An RFC 9457 problem as the Slipgate API writes it."""
    kind = doc.get("type")
    return (
        isinstance(doc.get("code"), str)
        and isinstance(kind, str)
        and kind.startswith("urn:slipgate:problem:")
    )


def _grant_error_body(reply: Reply) -> dict[str, Any]:
    try:
        return _json_object(reply.body, "the error answer")
    except ServerError:
        return {}


def default_clock() -> float:
    return time.time()


def headers_of(raw: Sequence[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]
