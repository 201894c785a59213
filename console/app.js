// Slipgate web console (SPEC §8): sign in by authorization code with PKCE at the identity
// server's own page, a key-bound token (non-extractable P-256 key in IndexedDB), signed API
// requests, verified responses. Tokens: the access token in memory only, the refresh token in
// IndexedDB; nothing in Web Storage or cookies.
"use strict";

(() => {
  const S = SlipgateSig;
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const IDP = meta("slipgate-idp");
  const CLIENT_ID = meta("slipgate-client-id");
  const API = location.origin;
  const REDIRECT = `${API}/console/callback`;
  const SLIP_PATH = "/generate/salaryslip";
  const FIELDS = ["emp_id", "emp_code", "emp_name", "emp_grade", "working_days", "pay_period"];
  const $ = (id) => document.getElementById(id);

  // ---- IndexedDB: the device key, the refresh token, a pending login and a kept form ----
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const open = indexedDB.open("slipgate-console", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("kv");
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
    }
    return dbPromise;
  }
  async function kv(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const tx = d.transaction("kv", mode);
      const req = fn(tx.objectStore("kv"));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  }
  const kvGet = (k) => kv("readonly", (s) => s.get(k));
  const kvPut = (k, v) => kv("readwrite", (s) => s.put(v, k));
  const kvDel = (k) => kv("readwrite", (s) => s.delete(k));

  // ---- session state (memory only) ----
  const session = { access: null, expiresAt: 0, keyPair: null, user: null, scope: "" };
  let responseKeys = null;
  let refreshing = null;

  class ApiProblem extends Error {
    constructor(status, problem) {
      super(problem.detail || problem.title || `HTTP ${status}`);
      this.status = status;
      this.code = problem.code || `http_${status}`;
      this.problem = problem;
    }
  }
  class SessionEnded extends Error {}

  function status(text) {
    $("status").textContent = text;
  }

  function show(view) {
    for (const v of ["login", "generate", "slip", "batch"]) $(`view-${v}`).hidden = v !== view;
    $("nav").hidden = view === "login";
    const heading = $(`view-${view}`).querySelector("h2");
    if (heading) heading.focus();
  }

  function claims(jwt) {
    try {
      return JSON.parse(new TextDecoder().decode(S.unb64url(jwt.split(".")[1])));
    } catch {
      return {};
    }
  }

  function adopt(answer) {
    if (String(answer.token_type).toLowerCase() !== "httpsig") {
      throw new Error("the identity server did not bind the token to this browser's key");
    }
    session.access = answer.access_token;
    session.expiresAt = Date.now() + (Number(answer.expires_in) || 60) * 1000;
    const c = claims(answer.access_token);
    session.user = c.sub || "?";
    session.scope = answer.scope || c.scope || "";
    $("who").textContent = `${session.user} (${session.scope})`;
  }

  // ---- the identity server ----
  async function signedTokenRequest(form) {
    const url = `${IDP}/oauth/token`;
    const body = new URLSearchParams(form).toString();
    const signed = await S.tokenRequestHeaders(url, body, session.keyPair);
    const response = await fetch(url, {
      method: "POST", headers: signed.headers, body, credentials: "omit", cache: "no-store", redirect: "error",
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const e = new Error(answer.error_description || answer.error || `HTTP ${response.status}`);
      e.code = answer.error;
      throw e;
    }
    return answer;
  }

  async function startLogin(message) {
    const { verifier, challenge } = await S.pkce();
    const state = S.b64url(crypto.getRandomValues(new Uint8Array(16)));
    await kvPut("pending", { state, verifier, created: Date.now() });
    const query = new URLSearchParams({
      response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT, state,
      code_challenge: challenge, code_challenge_method: "S256",
    });
    if (message) status(message);
    location.assign(`${IDP}/oauth/authorize?${query}`);
  }

  async function finishLogin(params) {
    const pending = await kvGet("pending");
    await kvDel("pending");
    history.replaceState(null, "", "/console/");
    if (params.get("error")) throw new Error(`sign-in refused: ${params.get("error")}`);
    if (!pending || !params.get("state") || params.get("state") !== pending.state) {
      throw new Error("this sign-in answer does not belong to a sign-in started here (state mismatch)");
    }
    if (Date.now() - pending.created > 10 * 60 * 1000) throw new Error("the sign-in took too long; start again");
    if (params.get("iss") !== null && params.get("iss") !== IDP) throw new Error("the answer came from another issuer");
    // A fresh key for every login; the old one (if any) goes.
    session.keyPair = await S.generateKey();
    await kvPut("device-key", session.keyPair);
    const answer = await signedTokenRequest({
      grant_type: "authorization_code", code: params.get("code") || "", redirect_uri: REDIRECT,
      client_id: CLIENT_ID, code_verifier: pending.verifier,
    });
    adopt(answer);
    if (answer.refresh_token) await kvPut("refresh", answer.refresh_token);
  }

  /** One refresh at a time; a failure ends the session (the form is kept). */
  function refresh() {
    if (!refreshing) {
      refreshing = (async () => {
        const token = await kvGet("refresh");
        if (!token || !session.keyPair) throw new SessionEnded("no session");
        try {
          const answer = await signedTokenRequest({ grant_type: "refresh_token", refresh_token: token, client_id: CLIENT_ID });
          adopt(answer);
          if (answer.refresh_token) await kvPut("refresh", answer.refresh_token);
        } catch (e) {
          await kvDel("refresh");
          session.access = null;
          throw new SessionEnded(e.message);
        }
      })().finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  async function logout() {
    const token = await kvGet("refresh");
    if (token) {
      const body = new URLSearchParams({ token, token_type_hint: "refresh_token", client_id: CLIENT_ID });
      await fetch(`${IDP}/oauth/revoke`, {
        method: "POST", body, credentials: "omit", cache: "no-store",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }).catch(() => {});
    }
    await kvDel("refresh");
    await kvDel("device-key");
    await kvDel("draft");
    session.access = null;
    session.keyPair = null;
    show("login");
    status("Signed out. The session is revoked and this browser's key is deleted.");
  }

  // ---- the API ----
  async function keys() {
    if (!responseKeys) {
      const r = await fetch(`${API}/.well-known/slipgate-keys`, { credentials: "omit", cache: "no-store" });
      responseKeys = await S.importResponseKeys(await r.json());
    }
    return responseKeys;
  }

  /** One signed request; the answer is verified before it is read. */
  async function callApi(payload, accept, retried = false) {
    if (!session.access || Date.now() > session.expiresAt - 15000) await refresh();
    const body = JSON.stringify(payload);
    const url = `${API}${SLIP_PATH}`;
    const signed = await S.boundRequestHeaders("POST", url, body, session.access, session.keyPair.privateKey);
    const response = await fetch(url, {
      method: "POST", headers: { ...signed.headers, Accept: accept }, body, credentials: "omit", cache: "no-store",
    });
    const bytes = await response.arrayBuffer();
    await S.verifyResponse(
      response, bytes, { method: "POST", path: SLIP_PATH, signature: signed.signature }, await keys(),
      Math.floor(Date.now() / 1000),
    );
    if (response.ok) return { response, bytes };
    const problem = JSON.parse(new TextDecoder().decode(bytes));
    if (response.status === 401 && problem.code === "token_invalid" && !retried) {
      await refresh();
      return callApi(payload, accept, true);
    }
    const error = new ApiProblem(response.status, problem);
    error.retryAfter = Number(response.headers.get("retry-after")) || 1;
    throw error;
  }

  function requestFrom(values) {
    const out = {};
    for (const f of FIELDS) {
      const v = (values[f] ?? "").trim();
      if (f === "pay_period" && v === "") continue;
      out[f] = f === "working_days" && /^\d{1,9}$/.test(v) ? Number(v) : v;
    }
    return out;
  }

  // ---- generate one slip ----
  function formValues() {
    const values = {};
    for (const f of FIELDS) values[f] = $(`f-${f}`).value;
    return values;
  }
  function setFormValues(values) {
    for (const f of FIELDS) if (values && values[f] !== undefined) $(`f-${f}`).value = values[f];
  }
  function clearErrors() {
    for (const f of FIELDS) {
      $(`err-${f}`).textContent = "";
      $(`f-${f}`).removeAttribute("aria-invalid");
    }
    $("generate-error").textContent = "";
  }

  let lastRequest = null;

  async function onGenerate(event) {
    event.preventDefault();
    clearErrors();
    const values = formValues();
    const payload = requestFrom(values);
    $("generate-submit").disabled = true;
    try {
      const { bytes } = await callApi(payload, "application/json");
      lastRequest = payload;
      renderSlip(JSON.parse(new TextDecoder().decode(bytes)));
      show("slip");
    } catch (e) {
      await handleError(e, values, (err) => {
        if (err.code === "validation_failed" && Array.isArray(err.problem.errors)) {
          let first = null;
          for (const { field, message } of err.problem.errors) {
            if (FIELDS.includes(field)) {
              $(`err-${field}`).textContent = message;
              $(`f-${field}`).setAttribute("aria-invalid", "true");
              first = first || $(`f-${field}`);
            } else {
              $("generate-error").textContent += `${field}: ${message} `;
            }
          }
          if (first) first.focus();
        } else {
          $("generate-error").textContent = `${err.code}: ${err.message}`;
        }
      });
    } finally {
      $("generate-submit").disabled = false;
    }
  }

  async function handleError(e, draft, onProblem) {
    if (e instanceof SessionEnded) {
      await kvPut("draft", draft);
      show("login");
      status("Your session has ended. Sign in again; the form you filled in is kept.");
    } else if (e instanceof ApiProblem) {
      onProblem(e);
    } else {
      onProblem({ code: "client_error", message: e.message, problem: {} });
    }
  }

  function cell(row, text, cls) {
    const td = document.createElement(row.parentElement && row.parentElement.tagName === "THEAD" ? "th" : "td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function renderSlip(slip) {
    $("slip-name").textContent = slip.employee.emp_name;
    $("slip-emp_id").textContent = slip.employee.emp_id;
    $("slip-emp_code").textContent = slip.employee.emp_code;
    $("slip-emp_grade").textContent = slip.employee.emp_grade;
    $("slip-month").textContent = slip.period.month;
    $("slip-days").textContent = `${slip.period.working_days} of ${slip.period.basis_days}`;
    $("slip-currency").textContent = slip.currency;
    for (const kind of ["earnings", "deductions"]) {
      const body = $(`slip-${kind}`);
      body.replaceChildren();
      for (const line of slip[kind]) {
        const tr = document.createElement("tr");
        tr.dataset.code = line.code;
        body.appendChild(tr);
        cell(tr, line.label);
        cell(tr, line.amount, "amount");
      }
    }
    $("slip-gross_earnings").textContent = slip.gross_earnings;
    $("slip-total_deductions").textContent = slip.total_deductions;
    $("slip-net_pay").textContent = slip.net_pay;
    $("slip-net_pay_in_words").textContent = slip.net_pay_in_words;
    $("slip-id").textContent = slip.slip_id;
    $("slip-generated_at").textContent = slip.generated_at;
    $("slip-pdf-error").textContent = "";
  }

  function download(bytes, type, name) {
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  async function onPdf() {
    if (!lastRequest) return;
    $("slip-pdf").disabled = true;
    try {
      const { bytes } = await callApi(lastRequest, "application/pdf");
      const month = $("slip-month").textContent;
      download(bytes, "application/pdf", `${lastRequest.emp_id}-${month}.pdf`);
    } catch (e) {
      await handleError(e, formValues(), (err) => { $("slip-pdf-error").textContent = `${err.code}: ${err.message}`; });
    } finally {
      $("slip-pdf").disabled = false;
    }
  }

  // ---- batch from a CSV file ----
  /** RFC 4180 records: quoted fields with "" escapes, CRLF or LF line ends. */
  function parseCsv(text) {
    const rows = [];
    let row = [];
    let field = "";
    let quoted = false;
    let i = 0;
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    for (; i < text.length; i += 1) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (ch === '"') quoted = false;
        else field += ch;
      } else if (ch === '"' && field === "") quoted = true;
      else if (ch === ",") { row.push(field); field = ""; } else if (ch === "\n" || ch === "\r") {
        if (ch === "\r" && text[i + 1] === "\n") i += 1;
        row.push(field); field = "";
        if (row.length > 1 || row[0] !== "") rows.push(row);
        row = [];
      } else field += ch;
    }
    if (quoted) throw new Error("the file ends inside a quoted field");
    if (field !== "" || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  /** The CLI's quoting (csv crate, QuoteStyle::Necessary). */
  function csvField(value) {
    return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
  }

  let failedUrl = null;

  async function onBatch(event) {
    event.preventDefault();
    $("batch-error").textContent = "";
    const file = $("batch-file").files[0];
    if (!file) { $("batch-error").textContent = "Choose a CSV file."; return; }
    if (file.size > 5 * 1024 * 1024) { $("batch-error").textContent = "The file is larger than 5 MiB."; return; }
    let rows;
    try {
      rows = parseCsv(await file.text());
    } catch (e) {
      $("batch-error").textContent = e.message;
      return;
    }
    const header = rows.shift() || [];
    const known = [...FIELDS, "code", "detail"];
    const missing = FIELDS.slice(0, 5).filter((c) => !header.includes(c));
    const unknown = header.filter((c) => !known.includes(c));
    if (missing.length || unknown.length || new Set(header).size !== header.length) {
      $("batch-error").textContent = "The header must be emp_id,emp_code,emp_name,emp_grade,working_days[,pay_period]"
        + (unknown.length ? `; unknown column ${unknown[0]}` : "");
      return;
    }
    if (rows.length === 0 || rows.length > 10000) { $("batch-error").textContent = "The file needs 1 to 10000 rows."; return; }
    const progress = $("batch-progress");
    progress.max = rows.length;
    progress.value = 0;
    $("batch-percent").textContent = "0 %";
    const results = $("batch-results");
    results.replaceChildren();
    $("batch-summary").textContent = "";
    $("batch-failed").hidden = true;
    if (failedUrl) URL.revokeObjectURL(failedUrl);
    $("batch-run").disabled = true;
    const failures = [];
    let done = 0;
    let next = 0;
    const trs = rows.map((fields, index) => {
      const tr = document.createElement("tr");
      results.appendChild(tr);
      cell(tr, String(index + 1));
      cell(tr, fields[header.indexOf("emp_id")] ?? "");
      cell(tr, "waiting", "result");
      cell(tr, "");
      return tr;
    });
    const runRow = async (index) => {
      const fields = rows[index];
      const values = {};
      header.forEach((c, i) => { values[c] = fields[i] ?? ""; });
      const tr = trs[index];
      for (;;) {
        try {
          if (fields.length !== header.length) throw new ApiProblem(0, { code: "bad_row", detail: `expected ${header.length} fields, found ${fields.length}` });
          const { bytes } = await callApi(requestFrom(values), "application/json");
          const slip = JSON.parse(new TextDecoder().decode(bytes));
          tr.cells[2].textContent = "ok";
          tr.cells[3].textContent = `${slip.period.month}: net ${slip.net_pay} ${slip.currency}`;
          tr.dataset.result = "ok";
          return;
        } catch (e) {
          if (e instanceof ApiProblem && e.status === 429) {
            tr.cells[2].textContent = `rate limited, waiting ${e.retryAfter} s`;
            await new Promise((r) => { setTimeout(r, e.retryAfter * 1000); });
            continue;
          }
          if (e instanceof SessionEnded) throw e;
          const code = e instanceof ApiProblem ? e.code : "client_error";
          const detail = e instanceof ApiProblem && Array.isArray(e.problem.errors) && e.problem.errors.length
            ? e.problem.errors.map((x) => `${x.field}: ${x.message}`).join("; ")
            : e.message;
          tr.cells[2].textContent = code;
          tr.cells[3].textContent = detail;
          tr.dataset.result = "failed";
          failures.push({ index, code, detail });
          return;
        } finally {
          if (tr.dataset.result) {
            done += 1;
            progress.value = done;
            $("batch-percent").textContent = `${Math.floor((done * 100) / rows.length)} %`;
          }
        }
      }
    };
    const worker = async () => {
      while (next < rows.length) {
        const index = next;
        next += 1;
        await runRow(index);
      }
    };
    try {
      await Promise.all([worker(), worker(), worker(), worker()]);
    } catch (e) {
      await handleError(e, formValues(), () => {});
      $("batch-run").disabled = false;
      return;
    }
    $("batch-run").disabled = false;
    $("batch-summary").textContent = `${rows.length - failures.length} of ${rows.length} slips generated, ${failures.length} failed.`;
    if (failures.length) {
      failures.sort((a, b) => a.index - b.index);
      const lines = [[...header, "code", "detail"].map(csvField).join(",")];
      for (const f of failures) lines.push([...rows[f.index], f.code, f.detail].map(csvField).join(","));
      failedUrl = URL.createObjectURL(new Blob([`${lines.join("\n")}\n`], { type: "text/csv" }));
      const a = $("batch-failed");
      a.href = failedUrl;
      a.hidden = false;
    }
  }

  // ---- start ----
  async function main() {
    $("login").addEventListener("click", () => { startLogin().catch((e) => status(e.message)); });
    $("logout").addEventListener("click", () => { logout().catch((e) => status(e.message)); });
    for (const b of document.querySelectorAll("[data-view]")) b.addEventListener("click", () => show(b.dataset.view));
    $("generate-form").addEventListener("submit", onGenerate);
    $("slip-pdf").addEventListener("click", onPdf);
    $("slip-back").addEventListener("click", () => show("generate"));
    $("batch-form").addEventListener("submit", onBatch);
    session.keyPair = (await kvGet("device-key")) || null;
    try {
      if (location.pathname === "/console/callback") {
        await finishLogin(new URLSearchParams(location.search));
      } else if (session.keyPair && (await kvGet("refresh"))) {
        await refresh();
      } else {
        show("login");
        return;
      }
    } catch (e) {
      show("login");
      status(e instanceof SessionEnded ? "Sign in to continue." : e.message);
      return;
    }
    const draft = await kvGet("draft");
    if (draft) {
      setFormValues(draft);
      await kvDel("draft");
    }
    show("generate");
    status(`Signed in as ${session.user}.`);
  }

  main().catch((e) => status(e.message));
})();
