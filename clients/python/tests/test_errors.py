"""What a user of the SDK reads when something is wrong: the real cause as its own
``SlipgateError`` subclass, against real processes — a closed port, a name that does not resolve,
a server whose certificate comes from another CA (a second ``slipgate dev``), the identity
server's URL used as the API's and the reverse, a 422, and a call before any login."""

from __future__ import annotations

import asyncio
import socket

import pytest
from conftest import ALICE, Dev

from slipgate_client import (
    AsyncClient,
    Client,
    ConnectionRefused,
    InvalidUrl,
    LoginRequired,
    TlsVerificationError,
    TransportError,
    UnknownHost,
    ValidationFailed,
    WrongService,
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_closed_port_is_connection_refused_naming_the_address() -> None:
    port = closed_port()
    client = Client(f"https://127.0.0.1:{port}", f"https://127.0.0.1:{port}")
    with client, pytest.raises(ConnectionRefused) as e:
        client.login("alice", "whatever")
    assert isinstance(e.value, TransportError)
    assert e.value.code == "connection_refused"
    assert e.value.address == f"127.0.0.1:{port}"
    assert str(e.value) == (
        f"connection_refused: connection refused by 127.0.0.1:{port}: is the server running, and is this "
        "its address and port?"
    )


def test_an_unresolvable_name_is_unknown_host() -> None:
    client = Client("https://nonexistent.invalid", "https://nonexistent.invalid:8444")
    with client, pytest.raises(UnknownHost) as e:
        client.login("alice", "whatever")
    assert e.value.code == "unknown_host"
    assert e.value.host == "nonexistent.invalid"
    assert "unknown host 'nonexistent.invalid': the name does not resolve (DNS: " in str(e.value)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_certificate_from_another_ca_names_its_issuer_and_the_ca_file(
    dev: Dev, dev_limited: Dev, kind: str
) -> None:
    # dev_limited's CA did not issue dev's certificate.
    if kind == "sync":
        client = Client(dev.api_url, dev.idp_url, ca=dev_limited.ca)
        with client, pytest.raises(TlsVerificationError) as e:
            client.login("alice", dev.password("alice"))
    else:

        async def run() -> None:
            async with AsyncClient(dev.api_url, dev.idp_url, ca=dev_limited.ca) as client:
                await client.login("alice", dev.password("alice"))

        with pytest.raises(TlsVerificationError) as e:
            asyncio.run(run())
    err = e.value
    assert err.code == "tls_verification"
    assert err.issuer is not None and "CN=Slipgate development CA" in err.issuer
    assert err.subject is not None and "CN=localhost" in err.subject
    assert err.trusted == f"the CA file {dev_limited.ca}"
    idp = dev.idp_url.removeprefix("https://")
    assert str(err).startswith(
        f"tls_verification: TLS verification of {idp} failed: the server's certificate (subject "
        f"`{err.subject}`, issued by `{err.issuer}`) was checked against the CA file {dev_limited.ca}: "
    ), str(err)


@pytest.mark.parametrize(
    ("api", "idp", "says"),
    [
        (
            "http://127.0.0.1:8443",
            "https://127.0.0.1:8444",
            "invalid API URL 'http://127.0.0.1:8443': http:// is not accepted: Slipgate speaks TLS only; "
            "write https://127.0.0.1:8443",
        ),
        (
            "https://127.0.0.1:8443",
            "https://127.0.0.1:8444/oauth/token",
            "invalid identity server URL 'https://127.0.0.1:8444/oauth/token': it has the path "
            "'/oauth/token', but the identity server answers at the root of its origin: write "
            "https://127.0.0.1:8444",
        ),
        (
            "127.0.0.1:8443",
            "https://127.0.0.1:8444",
            "invalid API URL '127.0.0.1:8443': no scheme: write https://127.0.0.1:8443",
        ),
        (
            "https://alice:s3cret@127.0.0.1:8443",
            "https://127.0.0.1:8444",
            "invalid API URL 'https://127.0.0.1:8443': credentials in the URL are not accepted",
        ),
    ],
)
def test_unusable_urls_are_refused_before_any_connection(api: str, idp: str, says: str) -> None:
    with pytest.raises(InvalidUrl) as e:
        Client(api, idp)
    assert isinstance(e.value, ValueError)
    assert says in str(e.value)
    assert "s3cret" not in str(e.value)


def test_the_identity_servers_url_as_the_api_is_named_so(dev: Dev) -> None:
    with Client(dev.idp_url, dev.idp_url, ca=dev.ca) as client:
        client.login("alice", dev.password("alice"))
        with pytest.raises(WrongService) as e:
            client.generate(**ALICE, working_days=24)
    assert e.value.code == "wrong_service"
    assert str(e.value).startswith(
        f"404 wrong_service: {dev.idp_url} looks like the identity server, not the Slipgate API: it "
        "answered 404 with an unsigned OAuth error ('not_found')"
    ), str(e.value)


def test_the_apis_url_as_the_identity_server_is_named_so(dev: Dev) -> None:
    with Client(dev.api_url, dev.api_url, ca=dev.ca) as client, pytest.raises(WrongService) as e:
        client.login("alice", dev.password("alice"))
    assert f"{dev.api_url} looks like the Slipgate API, not the identity server: it answered" in str(e.value)


def test_a_validation_failure_lists_each_field_and_message(dev: Dev) -> None:
    with Client(dev.api_url, dev.idp_url, ca=dev.ca) as client:
        client.login("paula", dev.password("paula"))
        with pytest.raises(ValidationFailed) as e:
            client.generate(
                emp_id="01234", emp_code="E N G", emp_name="R2-D2", emp_grade="7.1", working_days=24
            )
    fields = [f["field"] for f in e.value.errors]
    assert fields == ["emp_code", "emp_name"]
    for f in e.value.errors:
        assert f"{f['field']}: {f['message']}" in str(e.value)


def test_generate_before_login_says_not_logged_in(dev: Dev) -> None:
    with Client(dev.api_url, dev.idp_url, ca=dev.ca) as client, pytest.raises(LoginRequired) as e:
        client.generate(**ALICE, working_days=24)
    assert "not logged in: call login() first" in str(e.value)
    assert "expired" not in str(e.value)
