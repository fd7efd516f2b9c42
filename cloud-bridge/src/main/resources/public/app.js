// The fleet dashboard: plain JavaScript against the bridge's REST API (docs/fleet.md).
"use strict";
const KEY = "mass.token";
const $ = (s) => document.querySelector(s);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const colors = ["#3f51b5", "#e91e63", "#009688", "#ff9800", "#795548", "#607d8b", "#8bc34a", "#9c27b0"];

// a link can carry the token (#token=...): taken and removed from the address bar
function tokenFromHash() {
  if (location.hash.startsWith("#token=")) {
    sessionStorage.setItem(KEY, decodeURIComponent(location.hash.slice(7)));
    sessionStorage.removeItem("mass.role");
    history.replaceState(null, "", location.pathname);
    return true;
  }
  return false;
}
tokenFromHash();
window.addEventListener("hashchange", () => { if (tokenFromHash()) refresh(); });

async function api(path, method = "GET") {
  const r = await fetch(path, { method, headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) } });
  if (r.status === 401) { signOut("the token was refused"); throw new Error("unauthorized"); }
  const body = await r.json();
  if (!r.ok) throw new Error(body.code + ": " + body.message);
  return body;
}

function signOut(why) {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem("mass.role");
  $("#app").hidden = true; $("#logout").hidden = true; $("#login").hidden = false;
  $("#login-error").textContent = why || "";
}

function ago(ms) {
  if (!ms) return "-";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? s + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
}

function renderOverview(o) {
  $("#overview").innerHTML =
    `<span><b id="ov-online">${o.online}</b>/<b id="ov-devices">${o.devices}</b> devices online</span>` +
    `<span><b>${o.models}</b> model versions</span><span><b>${o.activeRollouts}</b> active rollouts</span>` +
    `<span>broker ${o.brokerConnected ? "connected" : "<span class=error>disconnected</span>"}</span>` +
    `<span>${o.telemetry.records} telemetry records</span>`;
}

function renderDevices(list) {
  $("#devices tbody").innerHTML = list.map((d) => {
    const models = Object.entries(d.models || {}).map(([k, s]) =>
      `<span class="badge state-${esc(s.state)}" data-model="${esc(k)}">${esc(k)}@${esc(s.active)}${s.state && s.state !== "active" ? " " + esc(s.state) + (s.pending ? " " + esc(s.pending) : "") : ""}</span>`).join("");
    return `<tr data-device="${esc(d.id)}"><td>${esc(d.id)}</td><td class="${d.online ? "online" : "offline"}">${d.online ? "online" : "offline"}</td>` +
      `<td>${(d.tags || []).map((t) => `<span class=badge>${esc(t)}</span>`).join("")}</td><td>${models}</td>` +
      `<td>${d.inSync ? "yes" : "no"}</td><td>${esc(d.agentVersion)} ${esc(d.arch)}</td><td>${ago(d.lastSeen)}</td></tr>`;
  }).join("");
  const sel = $("#chart-device"), cur = sel.value;
  const opts = ["", ...list.map((d) => d.id)];
  if (sel.options.length !== opts.length) {
    sel.innerHTML = opts.map((id) => `<option value="${esc(id)}">${id ? esc(id) : "all devices"}</option>`).join("");
    sel.value = cur;
  }
}

function bar(states, total) {
  const ok = states.succeeded || 0, bad = (states.failed || 0) + (states.rolled_back || 0) + (states.stuck || 0), wait = states.assigned || 0;
  const w = (n) => total ? (100 * n / total).toFixed(1) + "%" : "0";
  return `<div class="bar"><i class="ok" style="width:${w(ok)}"></i><i class="bad" style="width:${w(bad)}"></i><i class="wait" style="width:${w(wait)}"></i></div>`;
}

async function renderRollouts(list) {
  const shown = list.slice(0, 5);
  const details = await Promise.all(shown.map((r) => api("/api/v1/rollouts/" + r.id)));
  const admin = sessionStorage.getItem("mass.role") !== "viewer";
  $("#rollouts").innerHTML = details.length === 0 ? "<p>No rollouts yet.</p>" : details.map((r) => {
    const phases = r.phaseList.map((p, i) => `<div class="phase ${i + 1 === r.phase && r.state === "running" ? "current" : ""}">` +
      `<small>phase ${i + 1} · ${p.percent} % · ${p.devices} devices</small>${bar(p.states, p.devices)}</div>`).join("");
    const done = r.states.succeeded || 0;
    const actions = admin && (r.state === "running" || r.state === "paused")
      ? `<button data-act="${r.state === "running" ? "pause" : "resume"}" data-id="${r.id}">${r.state === "running" ? "pause" : "resume"}</button> <button data-act="abort" data-id="${r.id}">abort</button>` : "";
    const health = Object.entries(r.health || {}).map(([k, v]) => `${esc(k)} ${typeof v === "number" ? +v.toFixed(3) : esc(v)}`).join(" · ");
    return `<div class="rollout" id="rollout-${r.id}" data-state="${esc(r.state)}"><h3>#${r.id} ${esc(r.model)} v${esc(r.version)} ` +
      `<span class="state-${esc(r.state)} rollout-state">${esc(r.state)}</span> · ${done}/${r.devices} on v${esc(r.version)} · tags ${esc(r.selector || "all")} ${actions}</h3>` +
      `${bar(r.states, r.devices)}<div class="phases">${phases}</div>` +
      (r.reason ? `<div class="error">${esc(r.reason)}</div>` : "") + (health ? `<small>health: ${health}</small>` : "") + `</div>`;
  }).join("");
}

function renderModels(list) {
  $("#models tbody").innerHTML = list.map((m) =>
    `<tr><td>${esc(m.name)}</td><td>${esc(m.version)}</td><td>${esc(m.task)}</td><td>${(m.sizeBytes / 1e6).toFixed(2)} MB</td>` +
    `<td>${m.chunks}</td><td>${(+m.smokeMs).toFixed(1)} ms</td><td><code>${esc(m.manifestSha256.slice(0, 12))}</code></td>` +
    `<td>${esc(m.uploadedBy)}</td><td>${esc(m.notes)}</td></tr>`).join("");
}

async function renderChart() {
  const dev = $("#chart-device").value, metric = $("#chart-metric").value;
  const since = Date.now() - 30 * 60 * 1000;
  const rows = await api(`/api/v1/telemetry?name=${encodeURIComponent(metric)}&since=${since}&limit=5000` + (dev ? "&device=" + encodeURIComponent(dev) : ""));
  const series = new Map();
  for (const r of rows) {
    const key = r.device_id + (r.model ? " " + r.model + "@" + r.version : r.pipeline ? " " + r.pipeline : "");
    if (!series.has(key)) series.set(key, []);
    series.get(key).push([r.ts, r.metric_value]);
  }
  const W = 1000, H = 200, L = 50, B = 20;
  if (series.size === 0) { $("#chart").innerHTML = `<p>No ${esc(metric)} in the last 30 minutes.</p>`; return; }
  const all = [...series.values()].flat();
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const v1 = Math.max(...all.map((p) => p[1]), 1e-9);
  const x = (t) => L + (W - L - 10) * (t - t0) / (t1 - t0), y = (v) => H - B - (H - B - 10) * v / v1;
  let i = 0, legend = "";
  const lines = [...series.entries()].map(([k, pts]) => {
    const c = colors[i++ % colors.length];
    legend += `<text x="${L + 10 + (i - 1) * 180}" y="12" style="fill:${c}">■ ${esc(k)}</text>`;
    return `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ")}"/>`;
  }).join("");
  $("#chart").innerHTML = `<svg viewBox="0 0 ${W} ${H}" data-series="${series.size}"><line class="axis" x1="${L}" y1="${H - B}" x2="${W}" y2="${H - B}"/>` +
    `<line class="axis" x1="${L}" y1="0" x2="${L}" y2="${H - B}"/><text x="2" y="14">${+v1.toPrecision(3)}</text><text x="2" y="${H - B}">0</text>` +
    `<text x="${L}" y="${H - 4}">${new Date(t0).toLocaleTimeString()}</text><text x="${W - 70}" y="${H - 4}">${new Date(t1).toLocaleTimeString()}</text>${lines}${legend}</svg>`;
}

async function refresh() {
  if (!sessionStorage.getItem(KEY)) { signOut(); return; }
  try {
    const [o, devices, rollouts, models] = await Promise.all([api("/api/v1/overview"), api("/api/v1/devices"), api("/api/v1/rollouts"), api("/api/v1/models")]);
    if (!sessionStorage.getItem("mass.role")) sessionStorage.setItem("mass.role", (await api("/api/v1/whoami")).role);
    $("#login").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
    renderOverview(o); renderDevices(devices); renderModels(models);
    await renderRollouts(rollouts);
    await renderChart();
    document.body.dataset.loaded = String(Date.now());
  } catch (e) {
    if (e.message !== "unauthorized") console.warn(e);
  }
}

$("#login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $("#token").value.trim());
  sessionStorage.removeItem("mass.role");
  refresh();
});
$("#logout").addEventListener("click", () => signOut());
$("#chart-device").addEventListener("change", renderChart);
$("#chart-metric").addEventListener("change", renderChart);
$("#rollouts").addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-act]");
  if (!b) return;
  try { await api(`/api/v1/rollouts/${b.dataset.id}/${b.dataset.act}`, "POST"); } catch (x) { alert(x.message); }
  refresh();
});
refresh();
setInterval(refresh, 2000);
