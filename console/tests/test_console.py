"""The web console (SPEC §8, issue 18) in headless chromium against a real `slipgate dev`.

Every check of issue 18's "Done when": log in as paula through the identity server's page,
generate a slip and compare the page with the API's JSON (fetched by the CLI), download the PDF
and read it with pdftotext, a 20-row CSV with two bad rows (progress 100 %, failed.csv holds
exactly those two), alice sees `forbidden` for another employee, the stored key cannot be
exported, no token in localStorage or cookies, the CSP is sent and an injected inline script
does not run, log out. Screenshots of each page at desktop and phone width go to the artefact
directory."""

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import DESKTOP, PHONE, REPO

# alice's record in `slipgate dev` (SPEC §3.4).
ALICE = {"emp_id": "01234", "emp_code": "ENG", "emp_name": "Alice Example", "emp_grade": "7.1"}
PAULA = {"emp_id": "00001", "emp_code": "HR", "emp_name": "Paula Payroll", "emp_grade": "8.1"}

RFC_KEY = (REPO / "crates/test-support/fixtures/rfc9421/test-key-ed25519.key.pem").read_text()


def shoot(page, artifacts, name):
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(artifacts / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def login(page, dev, user, artifacts=None):
    """Signs in through the identity server's form; returns the token endpoint's JSON answer."""
    response = page.goto(f"{dev.api}/console/")
    assert response.status == 200
    page.wait_for_selector("#view-login:not([hidden])")
    if artifacts:
        shoot(page, artifacts, "01-console-login")
    page.click("#login")
    page.wait_for_url(re.compile(re.escape(dev.idp) + r"/oauth/authorize\?"))
    if artifacts:
        shoot(page, artifacts, "02-idp-login-form")
    page.fill("#username", user)
    page.fill("#password", dev.password(user))
    with page.expect_response(lambda r: r.url == f"{dev.idp}/oauth/token" and r.request.method == "POST") as token:
        page.click("button[type=submit]")
    answer = token.value.json()
    assert token.value.status == 200, answer
    page.wait_for_selector("#view-generate:not([hidden])")
    assert page.url == f"{dev.api}/console/", "the code is gone from the address bar"
    return answer


def fill_slip(page, record, days, period):
    for field, value in {**record, "working_days": str(days), "pay_period": period}.items():
        page.fill(f"#f-{field}", value)


def cli_slip(dev, user, record, days, period):
    """The same slip through the Rust CLI (a key-bound login of its own): the API's JSON."""
    dev.cli("login", "--username", user, "--password-stdin", stdin=dev.password(user) + "\n")
    out = dev.cli("generate", "--emp-id", record["emp_id"], "--emp-code", record["emp_code"],
                  "--emp-name", record["emp_name"], "--grade", record["emp_grade"],
                  "--working-days", str(days), "--period", period, "--format", "json")
    return json.loads(out)


def test_signing_matches_the_wire_protocol_examples_byte_for_byte(page, dev):
    """sig.js builds the very bases of docs/wire-protocol.md §10 and, with the RFC 9421 test
    key (Ed25519 is deterministic), the very signatures."""
    page.goto(f"{dev.api}/console/")
    result = page.evaluate("""async (pem) => {
        const S = SlipgateSig;
        const der = S.unb64(pem.replace(/-----[^-]+-----/g, "").replace(/\\s/g, ""));
        const privateKey = await crypto.subtle.importKey("pkcs8", der, {name: "Ed25519"}, false, ["sign"]);
        const token = await S.tokenRequestHeaders(
            "https://127.0.0.1:8444/oauth/token",
            "grant_type=password&username=alice&password=example-password&scope=salaryslip%3Aself",
            {privateKey},
            {created: 1767225600, nonce: "b3k2pp5k7z-50gnX1b06",
             rawPublic: S.unb64url("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs")});
        const bound = await S.boundRequestHeaders(
            "POST", "https://127.0.0.1:8443/generate/salaryslip",
            '{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}',
            "example-token", privateKey, {created: 1767225600, nonce: "k9Jyxempel2305Nmx7Rk"});
        return {token, bound: {base: bound.base, headers: bound.headers}};
    }""", RFC_KEY)
    token = result["token"]
    assert token["headers"]["Content-Digest"] == "sha-256=:Xd2wp5yQaY/NefJ0hr5RIsJIpWDy2NiUNszKtfz4MTo=:"
    assert token["headers"]["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "content-digest");created=1767225600;nonce="b3k2pp5k7z-50gnX1b06"'
        ';tag="httpsig-oauth-token-request";alg="ed25519";pub=:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=:')
    assert token["base"] == "\n".join([
        '"@method": POST',
        '"@target-uri": https://127.0.0.1:8444/oauth/token',
        '"content-digest": sha-256=:Xd2wp5yQaY/NefJ0hr5RIsJIpWDy2NiUNszKtfz4MTo=:',
        '"@signature-params": ' + token["headers"]["Signature-Input"][len("sig1="):],
    ])
    assert token["headers"]["Signature"] == (
        "sig1=:m6YNUeqIpJDbMkDeltALKD8IvX81LaOOvS+GFTbksDKede3kn/wBXBBUyQsvtj1jHd92KCQVJSHHj+iMygwdCw==:")
    bound = result["bound"]
    assert bound["headers"]["Authorization"] == "HTTPSig example-token"
    assert bound["headers"]["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "authorization" "content-type" "content-digest");created=1767225600'
        ';nonce="k9Jyxempel2305Nmx7Rk";tag="httpsig-oauth"')
    assert bound["base"] == "\n".join([
        '"@method": POST',
        '"@target-uri": https://127.0.0.1:8443/generate/salaryslip',
        '"authorization": HTTPSig example-token',
        '"content-type": application/json',
        '"content-digest": sha-256=:wSUVK7pzEgVCfQmtG+rRuQs6aUnrfondbUX24Dhc0MU=:',
        '"@signature-params": ' + bound["headers"]["Signature-Input"][len("sig1="):],
    ])
    assert bound["headers"]["Signature"] == (
        "sig1=:uXie6AGN+V1AtAt220YaskAFGp+8matEsFcci0im01VekzuLrWJ00P3awM5n6218R+5fAv87KacbTzHulWh4CQ==:")


def test_response_signatures_are_verified_and_a_tampered_answer_is_refused(page, dev):
    """verifyResponse accepts what the Rust signer sends and refuses any change to it."""
    page.goto(f"{dev.api}/console/")
    outcome = page.evaluate("""async () => {
        const S = SlipgateSig;
        const keys = await S.importResponseKeys(await (await fetch("/.well-known/slipgate-keys")).json());
        const r = await fetch("/openapi.json", {cache: "no-store"});
        const bytes = new Uint8Array(await r.arrayBuffer());
        const now = Math.floor(Date.now() / 1000);
        const req = {method: "GET", path: "/openapi.json", signature: null};
        const tries = {};
        const attempt = async (name, fn) => { try { await fn(); tries[name] = "ok"; } catch (e) { tries[name] = e.message; } };
        await attempt("genuine", () => S.verifyResponse(r, bytes, req, keys, now));
        const flipped = bytes.slice(); flipped[10] ^= 1;
        await attempt("body", () => S.verifyResponse(r, flipped, req, keys, now));
        await attempt("stale", () => S.verifyResponse(r, bytes, req, keys, now + 3600));
        await attempt("unknown-key", () => S.verifyResponse(r, bytes, req, new Map(), now));
        const fake = new Response(bytes, {status: 201, headers: r.headers});
        await attempt("status", () => S.verifyResponse(fake, bytes, req, keys, now));
        const bound = {method: "POST", path: "/generate/salaryslip", signature: new Uint8Array(64)};
        await attempt("unbound-to-our-request", () => S.verifyResponse(r, bytes, bound, keys, now));
        return tries;
    }""")
    assert outcome["genuine"] == "ok", outcome
    for name in ("body", "stale", "unknown-key", "status", "unbound-to-our-request"):
        assert outcome[name] != "ok", (name, outcome)
    assert "digest" in outcome["body"]
    assert "does not cover" in outcome["unbound-to-our-request"]


def test_csp_is_sent_and_an_injected_inline_script_does_not_run(page, dev):
    response = page.goto(f"{dev.api}/console/")
    csp = response.headers["content-security-policy"]
    assert csp == (f"default-src 'self'; connect-src 'self' {dev.idp}; script-src 'self'; "
                   "object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    page.wait_for_selector("#view-login:not([hidden])")
    result = page.evaluate("""async () => {
        const violations = [];
        document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective));
        const s = document.createElement("script");
        s.textContent = "window.__injected = true;";
        document.body.appendChild(s);
        const img = document.createElement("img");
        img.setAttribute("onerror", "window.__handler = true");
        img.src = "/nonexistent.png";
        document.body.appendChild(img);
        let remote = "blocked";
        try { await fetch("https://example.invalid/"); remote = "sent"; } catch (e) { remote = "blocked"; }
        await new Promise((r) => setTimeout(r, 300));
        return {injected: window.__injected === true, handler: window.__handler === true, violations, remote};
    }""")
    assert result["injected"] is False and result["handler"] is False, result
    assert any(v.startswith("script-src") for v in result["violations"]), result
    assert result["remote"] == "blocked"


def test_paula_generates_a_slip_equal_to_the_api_json_and_downloads_the_pdf(page, dev, artifacts):
    answer = login(page, dev, "paula", artifacts)
    assert answer["token_type"].lower() == "httpsig", "the console's token is key-bound"
    shoot(page, artifacts, "03-generate")
    # Validation messages from the API, beside their fields.
    fill_slip(page, {**ALICE, "emp_id": "bad id!", "emp_name": "R2-D2"}, 20, "2026-11")
    page.click("#generate-submit")
    page.wait_for_selector("#err-emp_name:not(:empty)")
    for field in ("emp_id", "emp_name"):
        assert page.text_content(f"#err-{field}") != "", field
        assert page.get_attribute(f"#f-{field}", "aria-invalid") == "true", field
    assert page.text_content("#err-emp_code") == "" and page.get_attribute("#f-emp_code", "aria-invalid") is None
    shoot(page, artifacts, "04-generate-validation")
    # A grade outside the pay scale is the API's message too.
    fill_slip(page, {**ALICE, "emp_grade": "9.9"}, 20, "2026-11")
    page.click("#generate-submit")
    page.wait_for_selector("#err-emp_grade:not(:empty)")
    assert page.text_content("#err-emp_name") == "", "earlier messages are cleared"
    # A real slip.
    fill_slip(page, ALICE, 20, "2026-11")
    page.click("#generate-submit")
    page.wait_for_selector("#view-slip:not([hidden])")
    shoot(page, artifacts, "05-slip")
    expected = cli_slip(dev, "paula", ALICE, 20, "2026-11")
    for field in ("gross_earnings", "total_deductions", "net_pay", "net_pay_in_words"):
        assert page.text_content(f"#slip-{field}") == expected[field], field
    assert page.text_content("#slip-name") == "Alice Example"
    assert page.text_content("#slip-month") == "2026-11"
    for kind in ("earnings", "deductions"):
        rows = page.query_selector_all(f"#slip-{kind} tr")
        shown = [(r.get_attribute("data-code"), r.query_selector_all("td")[1].text_content()) for r in rows]
        assert shown == [(line["code"], line["amount"]) for line in expected[kind]], kind
    with page.expect_download() as download:
        page.click("#slip-pdf")
    path = artifacts / "slip.pdf"
    download.value.save_as(path)
    assert download.value.suggested_filename == "01234-2026-11.pdf"
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Alice Example" in text and expected["net_pay"] in text.replace(",", ""), text
    # Secrets stay where they belong.
    storage = page.evaluate("""async () => {
        const db = await new Promise((res, rej) => { const o = indexedDB.open("slipgate-console"); o.onsuccess = () => res(o.result); o.onerror = () => rej(o.error); });
        const kp = await new Promise((res) => { const g = db.transaction("kv").objectStore("kv").get("device-key"); g.onsuccess = () => res(g.result); });
        const out = {extractable: kp.privateKey.extractable, alg: kp.privateKey.algorithm.name,
                     curve: kp.privateKey.algorithm.namedCurve, localStorage: localStorage.length,
                     sessionStorage: sessionStorage.length, cookie: document.cookie};
        for (const format of ["pkcs8", "jwk", "raw"]) {
            try { await crypto.subtle.exportKey(format, kp.privateKey); out[format] = "exported"; }
            catch (e) { out[format] = e.name; }
        }
        return out;
    }""")
    assert storage["extractable"] is False and storage["alg"] == "ECDSA" and storage["curve"] == "P-256"
    for fmt in ("pkcs8", "jwk", "raw"):
        assert storage[fmt] != "exported", storage
    assert storage["localStorage"] == 0 and storage["sessionStorage"] == 0 and storage["cookie"] == ""
    assert page.context.cookies() == []
    content = page.content()
    assert answer["access_token"] not in content and answer["refresh_token"] not in content


def test_a_batch_of_twenty_rows_with_two_bad_ones(page, dev, artifacts, tmp_path):
    login(page, dev, "paula")
    page.click("[data-view=batch]")
    rows = [["emp_id", "emp_code", "emp_name", "emp_grade", "working_days", "pay_period"]]
    for i in range(20):
        rows.append([f"E{i:03d}", "ENG", f"Worker {chr(65 + i)}", "7.1", str(10 + i % 10), "2026-10"])
    rows[6][3] = "9.9"  # not in the pay scale
    rows[14][2] = "Bad, Name 42"  # digits are not allowed in a name; the comma is quoted
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    source = tmp_path / "batch.csv"
    source.write_text(buffer.getvalue())
    page.set_input_files("#batch-file", str(source))
    shoot(page, artifacts, "06-batch")
    page.click("#batch-run")
    page.wait_for_selector("#batch-summary:not(:empty)", timeout=120000)
    assert page.evaluate("() => [document.getElementById('batch-progress').value, document.getElementById('batch-progress').max]") == [20, 20]
    assert page.text_content("#batch-percent") == "100 %"
    assert page.text_content("#batch-summary") == "18 of 20 slips generated, 2 failed."
    shoot(page, artifacts, "07-batch-done")
    with page.expect_download() as download:
        page.click("#batch-failed")
    assert download.value.suggested_filename == "failed.csv"
    failed = Path(download.value.path()).read_text()
    parsed = list(csv.reader(io.StringIO(failed)))
    assert parsed[0] == rows[0] + ["code", "detail"]
    assert [r[:6] for r in parsed[1:]] == [rows[6], rows[14]], failed
    assert [r[6] for r in parsed[1:]] == ["validation_failed", "validation_failed"]
    assert parsed[1][7].startswith("emp_grade: ") and parsed[2][7].startswith("emp_name: ")
    assert '"Bad, Name 42"' in failed, "quoted like the CLI's failed.csv"


def test_alice_sees_forbidden_for_another_employee(page, dev):
    answer = login(page, dev, "alice")
    assert answer["scope"] == "salaryslip:self"
    fill_slip(page, PAULA, 20, "2026-11")
    page.click("#generate-submit")
    page.wait_for_selector("#generate-error:not(:empty)")
    assert page.text_content("#generate-error").startswith("forbidden")
    assert page.is_hidden("#view-slip")
    # Her own slip works.
    fill_slip(page, ALICE, 20, "2026-11")
    page.click("#generate-submit")
    page.wait_for_selector("#view-slip:not([hidden])")
    assert page.text_content("#slip-name") == "Alice Example"


def introspect(dev, token):
    client = dev.info["introspection_client"]
    code = (
        "import json,ssl,sys,urllib.request,urllib.parse,base64\n"
        "ctx=ssl.create_default_context(cafile=sys.argv[1])\n"
        "req=urllib.request.Request(sys.argv[2]+'/oauth/introspect',data=urllib.parse.urlencode({'token':sys.argv[5]}).encode(),"
        "headers={'Authorization':'Basic '+base64.b64encode((sys.argv[3]+':'+sys.argv[4]).encode()).decode()})\n"
        "print(urllib.request.urlopen(req,context=ctx).read().decode())\n"
    )
    out = subprocess.run(["python3", "-c", code, dev.info["ca_file"], dev.idp, client["client_id"],
                          client["client_secret"], token], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_logout_revokes_the_session_and_deletes_the_key(page, dev, artifacts):
    answer = login(page, dev, "paula")
    assert introspect(dev, answer["access_token"])["active"] is True
    page.click("#logout")
    page.wait_for_selector("#view-login:not([hidden])")
    shoot(page, artifacts, "08-logged-out")
    left = page.evaluate("""async () => {
        const db = await new Promise((res) => { const o = indexedDB.open("slipgate-console"); o.onsuccess = () => res(o.result); });
        return await new Promise((res) => { const g = db.transaction("kv").objectStore("kv").getAllKeys(); g.onsuccess = () => res(g.result); });
    }""")
    assert left == [], left
    assert introspect(dev, answer["access_token"])["active"] is False
    # A reload does not sign anyone in again.
    page.reload()
    page.wait_for_selector("#view-login:not([hidden])")


def test_a_forged_callback_is_refused(page, dev):
    """A code delivered to the callback without a sign-in started here (login CSRF) is not used."""
    page.goto(f"{dev.api}/console/callback?code=attacker-code&state=attacker-state")
    page.wait_for_selector("#view-login:not([hidden])")
    assert "state mismatch" in page.text_content("#status")


def test_a_reload_refreshes_silently_and_a_failed_refresh_keeps_the_form(page, dev):
    login(page, dev, "paula")
    # The access token lived in memory only: a reload gets a new one by a signed refresh,
    # without the identity server's page.
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    with page.expect_response(lambda r: r.url == f"{dev.idp}/oauth/token") as refreshed:
        page.reload()
    assert refreshed.value.status == 200 and refreshed.value.json()["token_type"].lower() == "httpsig"
    page.wait_for_selector("#view-generate:not([hidden])")
    assert not any(url.startswith(dev.idp) for url in navigations), navigations
    # The session is revoked behind the console's back; the next request fails, the refresh
    # fails, and the console asks for a sign-in while keeping what was typed.
    dev.cli("idp", "session", "revoke", "--database", f"sqlite://{dev.data / 'idp.db'}", "--user", "paula", "--all")
    fill_slip(page, ALICE, 17, "2026-09")
    page.click("#generate-submit")
    page.wait_for_selector("#view-login:not([hidden])")
    assert "form you filled in is kept" in page.text_content("#status")
    login_again = page.click("#login")
    assert login_again is None
    page.wait_for_url(re.compile(re.escape(dev.idp) + r"/oauth/authorize\?"))
    page.fill("#username", "paula")
    page.fill("#password", dev.password("paula"))
    page.click("button[type=submit]")
    page.wait_for_selector("#view-generate:not([hidden])")
    assert page.input_value("#f-emp_name") == "Alice Example"
    assert page.input_value("#f-working_days") == "17"
    assert page.input_value("#f-pay_period") == "2026-09"
