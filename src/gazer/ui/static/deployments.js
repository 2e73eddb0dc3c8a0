// Deployments: endpoints with policy, versions, weight and request rate; change the policy
// or weight, promote the challenger, roll back (admin key, asked once per tab); swap history.
(() => {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const when = (t) => new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
  async function call(url, options) {
    const response = await gazerFetch(url, options);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `${response.status}`);
    return body;
  }
  const send = (method, url, body) => call(url, {method, headers: {"content-type": "application/json"}, body: JSON.stringify(body || {})});
  const rate = (r) => Object.entries(r).map(([role, x]) => `${esc(role)} ${x.per_s.toFixed(2)}`).join(", ") || "0";

  async function act(what, fn) {
    $("error").textContent = ""; $("status").textContent = `${what}…`;
    try { await fn(); $("status").textContent = `${what}: done`; await load(); }
    catch (err) { $("status").textContent = ""; $("error").textContent = `${what}: ${err.message}`; }
  }

  async function load() {
    const endpoints = await call("/api/deployments");
    const body = $("endpoints").querySelector("tbody");
    body.innerHTML = endpoints.map((e) => `<tr data-endpoint="${esc(e.name)}">
      <td><a href="/monitoring/${encodeURIComponent(e.name)}">${esc(e.name)}</a></td><td><a href="/models/${encodeURIComponent(e.model)}">${esc(e.model)}</a></td>
      <td class="champion">${e.champion.version ? "v" + e.champion.version : "-"}</td><td class="challenger">${e.challenger.version ? "v" + e.challenger.version : "-"}</td>
      <td><select class="policy">${["champion", "canary", "shadow"].map((p) => `<option${p === e.policy ? " selected" : ""}>${p}</option>`).join("")}</select></td>
      <td><input class="weight" type="number" min="0" max="1" step="0.05" value="${e.canary_weight}" style="width:5em"></td>
      <td class="rate">${rate(e.rate)}</td>
      <td><button type="button" class="apply">Apply</button> <button type="button" class="promote"${e.challenger.version ? "" : " disabled"}>Promote challenger</button> <button type="button" class="rollback">Roll back</button></td></tr>`).join("");
    for (const tr of body.querySelectorAll("tr")) {
      const name = tr.dataset.endpoint;
      const e = endpoints.find((x) => x.name === name);
      tr.querySelector(".apply").addEventListener("click", () => act(`traffic of ${name}`, () => send("PUT", `/admin/endpoints/${encodeURIComponent(name)}/traffic`, {
        policy: tr.querySelector(".policy").value, canary_weight: Number(tr.querySelector(".weight").value)})));
      tr.querySelector(".promote").addEventListener("click", () => act(`promote ${e.model} v${e.challenger.version}`, () => send("POST", `/admin/models/${encodeURIComponent(e.model)}/promote`, {version: e.challenger.version})));
      tr.querySelector(".rollback").addEventListener("click", () => act(`roll back ${e.model}`, () => send("POST", `/admin/models/${encodeURIComponent(e.model)}/rollback`)));
    }
    try {
      const swaps = await call("/admin/swaps");
      $("swaps").querySelector("tbody").innerHTML = swaps.slice(0, 50).map((s) => `<tr class="${s.ok ? "ok" : "refused"}"><td>${when(s.at)}</td><td>${esc(s.endpoint)}</td><td>${esc(s.role)}</td>
        <td>${s.from_version ? "v" + s.from_version : "-"} → v${s.to_version}</td><td>${s.ok ? "swapped" : "refused"}</td><td>${esc(s.error || "")}</td></tr>`).join("")
        || `<tr><td colspan="6" class="muted">no swaps yet</td></tr>`;
    } catch (err) { $("swaps").querySelector("tbody").innerHTML = `<tr><td colspan="6" class="muted">${esc(err.message)}</td></tr>`; }
  }
  load().catch((err) => { $("error").textContent = err.message; });
})();
