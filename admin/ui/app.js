// The status page of smsagent's admin API. It polls the API it is served
// by, at most one request a second: /api/v1/status every second, the
// charts' series every tenth second and, unlocked, the messages every
// fifth. Everything shown is set with textContent: errors and reasons
// quote what an SMSC or a producer sent, never markup.
"use strict";

const TOKEN_KEY = "smsagent-admin-token";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY) || "";
let tick = 0;
let refreshMessages = true;
let lastStatus = null;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells, head) {
  const tr = el("tr");
  cells.forEach((c, i) => {
    const cell = el(i === 0 && head ? "th" : "td");
    if (c instanceof Node) cell.appendChild(c); else cell.textContent = c === undefined ? "" : String(c);
    tr.appendChild(cell);
  });
  return tr;
}

function since(t) {
  if (!t || t.startsWith("0001")) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  if (s < 120) return s + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  if (s < 172800) return Math.round(s / 3600) + " h";
  return Math.round(s / 86400) + " d";
}

async function api(path, opts) {
  opts = opts || {};
  const headers = {};
  if (token) headers["Authorization"] = "Bearer " + token;
  const resp = await fetch(path, { method: opts.method || "GET", headers, cache: "no-store" });
  if (resp.status === 401 || resp.status === 403) {
    if (token) {
      token = "";
      sessionStorage.removeItem(TOKEN_KEY);
      applyLock();
      $("action-result").textContent = "";
    }
    const body = await resp.json().catch(() => ({}));
    throw new Error(body.error || resp.statusText);
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

function applyLock() {
  const locked = !token;
  document.body.classList.toggle("locked", locked);
  $("token-form").hidden = !locked;
  $("token-forget").hidden = locked;
}

function setConn(ok, text) {
  const c = $("conn");
  c.textContent = text;
  c.className = "pill " + (ok ? "live" : "down");
}

function renderStatus(st) {
  lastStatus = st;
  $("version").textContent = st.version + (st.started_at ? " · up " + since(st.started_at) : "");
  const health = $("health");
  health.replaceChildren();
  if (!st.health || st.health.length === 0) health.appendChild(el("li", "all well", "ok"));
  else st.health.forEach((h) => health.appendChild(el("li", h, "bad")));

  const order = ["queued", "sending", "sent", "delivered", "undeliverable", "expired", "rejected", "failed", "canceled"];
  const qb = $("queue").tBodies[0];
  qb.replaceChildren();
  const by = st.queue.by_state || {};
  order.forEach((s) => {
    const tr = row([s, by[s] || 0], true);
    tr.dataset.state = s;
    tr.cells[1].className = "n";
    qb.appendChild(tr);
  });
  $("awaiting").textContent = st.queue.awaiting_receipt || 0;

  const i = st.intake || {};
  $("intake-taken").textContent = i.files_taken || 0;
  $("intake-rejected").textContent = i.files_rejected || 0;
  $("intake-messages").textContent = i.messages || 0;
  $("intake-duplicates").textContent = i.duplicates || 0;
  $("intake-pending").textContent = (i.pending || 0) + (i.stalled ? " (stalled)" : "");
  $("inbox-backlog").textContent = st.inbox.backlog || 0;
  $("inbox-written").textContent = st.inbox.written || 0;
  $("rate-submits").textContent = (st.rates.submits_per_sec || 0).toFixed(1);
  $("rate-receipts").textContent = (st.rates.receipts_per_sec || 0).toFixed(1);

  const acc = $("accounts");
  acc.replaceChildren();
  (st.smscs || []).forEach((a) => {
    const box = el("div", null, "account");
    box.dataset.account = a.name;
    const h = el("h3");
    h.appendChild(el("span", a.name + " "));
    h.appendChild(el("span", a.state, "state-" + a.state));
    h.appendChild(el("span", " · " + a.bound + " bound · since " + since(a.since) +
      (a.failing_over_to ? " · failing over to " + a.failing_over_to : "") +
      (a.stalled_since ? " · stalled for " + since(a.stalled_since) + " (nothing answered)" : "") +
      (a.credentials_refused ? " · credentials refused" : "")));
    box.appendChild(h);
    const t = el("table");
    t.appendChild(row(["slot", "mode", "state", "since", "outstanding", "submitted", "reconnects", "throttled"]));
    t.rows[0].querySelectorAll("td").forEach((c) => { const th = el("th", c.textContent); c.replaceWith(th); });
    (st.binds || []).filter((b) => b.smsc === a.name).forEach((b) => {
      const tr = row([b.slot, b.mode, el("span", b.state, "state-" + b.state), since(b.since), b.outstanding, b.submitted, b.reconnects, b.throttled]);
      tr.dataset.bind = b.slot;
      for (let k = 4; k < 8; k++) tr.cells[k].className = "n";
      tr.cells[1].className = "hide-narrow";
      t.appendChild(tr);
    });
    const wrap = el("div", null, "scroll");
    wrap.appendChild(t);
    box.appendChild(wrap);
    acc.appendChild(box);
  });

  const eb = $("events-out").tBodies[0];
  eb.replaceChildren();
  (st.webhooks || []).forEach((w, n) => {
    eb.appendChild(row([w.url || "webhook " + (n + 1), w.delivered, w.retried, w.given_up,
      el("span", w.failing ? "failing" : "ok", w.failing ? "bad" : "ok")], true));
  });
  if (st.hooks) {
    const h = st.hooks;
    eb.appendChild(row([(h.command || "event command") + (h.running ? " (" + h.running + " running)" : ""), h.ran, h.retried, h.given_up,
      el("span", h.failing ? "failing" : "ok", h.failing ? "bad" : "ok")], true));
  }
  if (eb.rows.length === 0) eb.appendChild(row(["none configured", "", "", "", ""], true));

  const errs = $("errors");
  errs.replaceChildren();
  if (!st.redacted) {
    (st.binds || []).filter((b) => b.last_error).forEach((b) => errs.appendChild(el("li", b.smsc + " slot " + b.slot + ": " + b.last_error)));
    if (i.last_error) errs.appendChild(el("li", "intake: " + i.last_error));
    if (st.inbox.last_error) errs.appendChild(el("li", "inbox: " + st.inbox.last_error));
    (st.webhooks || []).filter((w) => w.last_error).forEach((w) => errs.appendChild(el("li", "webhook " + w.url + ": " + w.last_error)));
    if (st.hooks && st.hooks.last_error) errs.appendChild(el("li", "event command: " + st.hooks.last_error));
  }
  if (errs.children.length === 0) errs.appendChild(el("li", "none", "ok"));
}

// drawChart draws rates as steps: each point is the rate over the step
// that ends at its time. The time axis spans the agent's history, at least
// a minute and at most the hour kept, the newest step at the right.
function drawChart(id, times, values, stepSeconds) {
  const svg = $(id);
  svg.replaceChildren();
  svg.dataset.points = String(values.length);
  svg.dataset.peak = String(values.length ? Math.max(...values) : 0);
  if (values.length === 0) return;
  const ns = "http://www.w3.org/2000/svg";
  const peak = Math.max(1, ...values);
  const end = Date.parse(times[times.length - 1]);
  const start = Date.parse(times[0]) - stepSeconds * 1000;
  const span = Math.min(3600e3, Math.max(end - start, 60e3));
  const x = (t) => (360 * (1 - (end - t) / span)).toFixed(1);
  const y = (v) => (78 - (v / peak) * 66).toFixed(1);
  let prev = start;
  let d = "M" + x(prev) + " 78";
  values.forEach((v, k) => {
    const t = Date.parse(times[k]);
    d += "L" + x(prev) + " " + y(v) + "L" + x(t) + " " + y(v);
    prev = t;
  });
  const area = document.createElementNS(ns, "path");
  area.setAttribute("class", "area");
  area.setAttribute("d", d + "L" + x(prev) + " 78Z");
  const line = document.createElementNS(ns, "path");
  line.setAttribute("d", d);
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", "4");
  label.setAttribute("y", "10");
  label.textContent = "peak " + Math.max(...values).toFixed(1) + "/s";
  svg.append(area, line, label);
}

function renderSeries(s) {
  drawChart("chart-submits", s.times, s.submits_per_sec, s.step_seconds);
  drawChart("chart-receipts", s.times, s.receipts_per_sec, s.step_seconds);
  drawChart("chart-mo", s.times, s.mo_per_sec, s.step_seconds);
  const last = s.mo_per_sec.length ? s.mo_per_sec[s.mo_per_sec.length - 1] : 0;
  $("rate-mo").textContent = last.toFixed(1);
}

function renderMessages(page) {
  const tb = $("messages").tBodies[0];
  tb.replaceChildren();
  (page.messages || []).forEach((m) => {
    const btn = el("button");
    const queued = m.state === "queued" || m.state === "sending";
    btn.textContent = queued ? "Cancel" : "Retry";
    btn.className = queued ? "cancel" : "retry";
    btn.addEventListener("click", () => act(m.message_id, queued ? "cancel" : "retry", btn));
    const when = m.done_at || m.due_at || m.received_at;
    const partError = (m.parts || []).map((p) => p.error).find((e) => e);
    const tr = row([m.message_id, m.to, m.smsc || "", since(when), m.last_error || partError || m.state, btn]);
    tr.dataset.id = String(m.message_id);
    tb.appendChild(tr);
  });
  if (tb.rows.length === 0) tb.appendChild(row(["none", "", "", "", "", ""]));
}

async function act(id, what, btn) {
  btn.disabled = true;
  try {
    const m = await api("/api/v1/queue/" + id + "/" + what, { method: "POST" });
    $("action-result").textContent = (what === "retry" ? "Retried " : "Canceled ") + id + ": now " + m.state;
  } catch (e) {
    $("action-result").textContent = what + " " + id + ": " + e.message;
    btn.disabled = false;
  }
  refreshMessages = true;
}

async function poll() {
  const n = tick++;
  try {
    if (n % 10 === 0) {
      renderSeries(await api("/api/v1/series"));
    } else if (token && (refreshMessages || n % 5 === 1)) {
      refreshMessages = false;
      renderMessages(await api("/api/v1/queue?order=newest&limit=20&state=" + encodeURIComponent($("messages-state").value)));
    } else {
      renderStatus(await api("/api/v1/status"));
    }
    setConn(true, "live");
  } catch (e) {
    setConn(false, e.message || "no answer");
  }
  applyLock();
}

document.addEventListener("DOMContentLoaded", () => {
  applyLock();
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token-input").value.trim();
    $("token-input").value = "";
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    refreshMessages = true;
    applyLock();
    tick = 1; // the status next, with the token
  });
  $("token-forget").addEventListener("click", () => {
    token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    applyLock();
  });
  $("messages-state").addEventListener("change", () => { refreshMessages = true; });
  poll();
  setInterval(poll, 1000);
});
