"""Token lifetime and limits through real processes: an expired access token refreshed on its
own (once, even under 30 concurrent calls), and 429s waited out by 30 concurrent calls. Each runs
with a registry key (`Bearer`) and with a device key (key-bound `HTTPSig`)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from typing import Any

import pytest
from conftest import ALICE, Dev

from slipgate_client import AsyncClient, Client, RegistryKey
from slipgate_client._session import Session

MODES = ["registry", "bound"]


def make(kind: type[Any], dev: Dev, mode: str, **kw: Any) -> Any:
    if mode == "registry":
        kw["registry_key"] = RegistryKey("dev-hmac", hmac_secret=dev.key("dev-hmac")["secret_b64"])
    return kind(dev.api_url, dev.idp_url, ca=dev.ca, **kw)


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_an_expired_access_token_is_refreshed_transparently(
    dev_short_tokens: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both modes in one test, so the wait for the server's clock to pass the tokens' expiry
    (10 s, the shortest TTL) is paid once; each client's grants are counted on its own."""
    dev = dev_short_tokens
    grants: list[tuple[int, str]] = []
    original = Session._token_request

    def counting(self: Session, form: list[tuple[str, str]], bound: bool) -> Any:
        grants.append((id(self), dict(form)["grant_type"]))
        return original(self, form, bound)

    monkeypatch.setattr(Session, "_token_request", counting)
    asyncio.run(expire_and_refresh(dev, grants))


async def expire_and_refresh(dev: Dev, grants: list[tuple[int, str]]) -> None:
    password = dev.password("alice")

    def of(*clients: Any) -> list[str]:
        sessions = {id(c._session) for c in clients}
        return [grant for session, grant in grants if session in sessions]

    logged_in = []
    for mode in MODES:
        reactive, proactive = make(Client, dev, mode), make(Client, dev, mode)
        concurrent = make(AsyncClient, dev, mode)
        for c in (reactive, proactive):
            c.login("alice", password)
            c.generate(**ALICE, working_days=24)
        await concurrent.login("alice", password)
        assert of(reactive, proactive, concurrent) == ["password"] * 3, mode
        logged_in.append((mode, reactive, proactive, concurrent))
    expiry = max(claims(c._session.tokens.access_token)["exp"] for _, *clients in logged_in for c in clients)
    while time.time() <= expiry + 1:  # the server's clock decides
        await asyncio.sleep(0.25)

    for mode, reactive, proactive, concurrent in logged_in:
        # The client believes its token is still good: the server's token_invalid makes it refresh.
        old = reactive._session.tokens
        old.expires_at = time.time() + 3600
        assert reactive.generate(**ALICE, working_days=24)["employee"] == ALICE
        assert reactive._session.tokens.access_token != old.access_token
        # This one knows its token has expired and refreshes before sending.
        assert proactive.generate(**ALICE, working_days=24)["employee"] == ALICE
        assert of(reactive, proactive) == ["password"] * 2 + ["refresh_token"] * 2, mode

        # 30 calls at once on an expired token: one refresh (a second use of the same refresh
        # token would revoke the whole session, RFC 6749 §10.4) and 30 slips.
        async with concurrent:
            slips = await asyncio.gather(*(concurrent.generate(**ALICE, working_days=24) for _ in range(30)))
        assert [s["employee"] for s in slips] == [ALICE] * 30, mode
        assert of(concurrent) == ["password", "refresh_token"], mode
        reactive.close()
        proactive.close()


@pytest.mark.parametrize("mode", MODES)
def test_thirty_concurrent_calls_wait_out_the_user_limit(
    dev_burst: Dev, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(AsyncClient, dev_burst, mode, max_retries=20, retry_budget=30)

    async def run() -> list[Any]:
        async with client:
            await client.login("alice", dev_burst.password("alice"))
            return await asyncio.gather(*(client.generate(**ALICE, working_days=24) for _ in range(30)))

    with caplog.at_level(logging.INFO, "slipgate_client"):
        slips = asyncio.run(run())
    assert [s["employee"] for s in slips] == [ALICE] * 30
    waits = [r for r in caplog.records if "Retry-After" in r.getMessage()]
    # A burst of 10 passes; the other 20 each met at least one 429 and were signed again (a
    # resent request would have been refused as `replayed`).
    assert len(waits) >= 20
