// One run: its DAG drawn as SVG (ranks left to right, steps coloured by status, with
// duration, cache hit and attempts), parameters, metrics and their per-epoch curves, energy
// and CO2, artifacts (images inline, files to download), a step's log (admin key), and
// re-run / resume buttons (admin key). A running run's page refreshes itself.
(() => {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const runId = $("run-id").textContent;
  const COLOURS = {succeeded: "#d9f2dc", failed: "#f8d4d4", running: "#fff0c2", interrupted: "#eee"};
  const W = 170, H = 54, GX = 40, GY = 18;

  function drawDag(run) {
    const pos = {};
    run.levels.forEach((level, i) => level.forEach((name, j) => { pos[name] = {x: 10 + i * (W + GX), y: 10 + j * (H + GY)}; }));
    const width = 20 + run.levels.length * (W + GX) - GX;
    const height = 20 + Math.max(...run.levels.map((l) => l.length)) * (H + GY) - GY;
    const lines = run.edges.filter(([a, b]) => pos[a] && pos[b]).map(([a, b]) => {
      const s = pos[a], t = pos[b];
      return `<path class="edge" d="M${s.x + W},${s.y + H / 2} C${s.x + W + GX / 2},${s.y + H / 2} ${t.x - GX / 2},${t.y + H / 2} ${t.x},${t.y + H / 2}" fill="none" stroke="#888" marker-end="url(#arrow)"/>`;
    }).join("");
    const boxes = Object.entries(pos).map(([name, p]) => {
      const s = run.step_records[name];
      const status = s ? s.status : "not run";
      const detail = s ? [s.cached ? "cache hit" : (s.duration_s == null ? "" : `${s.duration_s.toFixed(2)} s`),
        s.attempts > 1 ? `${s.attempts} attempts` : ""].filter(Boolean).join(" · ") : "not run";
      return `<g class="step" data-step="${esc(name)}" data-status="${esc(status)}" data-cached="${s && s.cached}" style="cursor:pointer">
        <rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="6" fill="${COLOURS[status] || "#f4f4f4"}" stroke="${s && s.cached ? "#2b6cb0" : "#999"}" stroke-width="${s && s.cached ? 3 : 1}"/>
        <text x="${p.x + 10}" y="${p.y + 22}" font-size="13" font-weight="600">${esc(name)}</text>
        <text x="${p.x + 10}" y="${p.y + 41}" font-size="11" fill="#444">${esc(status)}${detail ? " · " + esc(detail) : ""}</text></g>`;
    }).join("");
    $("dag").innerHTML = `<svg width="${width}" height="${height}" role="img" aria-label="the run's steps">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>${lines}${boxes}</svg>`;
    $("dag").querySelectorAll("g.step").forEach((g) => g.addEventListener("click", () => showLog(g.dataset.step, false)));
  }

  async function showLog(step, full) {
    const response = await gazerFetch(`/api/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step)}/log${full ? "?full=true" : ""}`);
    const text = await response.text();
    $("log-box").hidden = false;
    $("log-step").textContent = step;
    $("log").textContent = response.ok ? text : (JSON.parse(text).detail || text);
    $("full-log").onclick = () => showLog(step, true);
  }

  // artifacts go through gazerFetch (the key is a header, which <img src> cannot send)
  async function blobUrl(url) {
    const response = await gazerFetch(url);
    if (!response.ok) throw new Error(`${response.status}`);
    return URL.createObjectURL(await response.blob());
  }

  function showTracking(t) {
    if (t.error) { $("energy").textContent = `the tracker could not be read: ${t.error}`; return; }
    $("energy").textContent = t.energy_kwh == null ? "not measured (tracking.co2 is off, or the run has not finished)"
      : `${(t.energy_kwh * 1000).toPrecision(3)} Wh · ${(t.co2_kg * 1000).toPrecision(3)} g CO₂eq`;
    const curves = Object.entries(t.curves);
    $("curves").innerHTML = curves.map(([k, pts]) => `<figure data-metric="${esc(k)}">${gazer.lineChart(pts, {label: k, xLabel: "epoch"})}</figure>`).join("")
      || `<p class="muted">no metric was logged more than once</p>`;
    const images = t.artifacts.filter((a) => a.image), files = t.artifacts.filter((a) => !a.image);
    $("images").innerHTML = images.map((a) => `<figure><img data-src="${esc(a.url)}" alt="${esc(a.path)}"><figcaption>${esc(a.path)}</figcaption></figure>`).join("");
    $("images").querySelectorAll("img").forEach((img) => blobUrl(img.dataset.src).then((u) => { img.src = u; }).catch((err) => { img.alt = `${img.alt}: ${err.message}`; }));
    $("files").innerHTML = files.map((a) => `<li><a href="#" data-url="${esc(a.url)}" data-name="${esc(a.path.split("/").pop())}">${esc(a.path)}</a> <span class="muted">${a.bytes} bytes</span></li>`).join("")
      || (images.length ? "" : `<li class="muted">no artifacts</li>`);
    $("files").querySelectorAll("a").forEach((a) => a.addEventListener("click", async (e) => {
      e.preventDefault();
      const link = document.createElement("a");
      link.href = await blobUrl(a.dataset.url); link.download = a.dataset.name; link.click();
    }));
  }

  async function act(kind) {
    $("action-status").textContent = kind === "rerun" ? "starting…" : "resuming…";
    const response = await gazerFetch(`/admin/runs/${encodeURIComponent(runId)}/${kind}`, {method: "POST"});
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { $("action-status").textContent = body.detail || `${response.status}`; return; }
    $("action-status").textContent = `started run ${body.run_id}`;
    if (body.run_id !== runId) location.href = body.url; else setTimeout(load, 500);
  }
  $("rerun").addEventListener("click", () => act("rerun"));
  $("resume").addEventListener("click", () => act("resume"));

  async function load() {
    const response = await gazerFetch(`/api/runs/${encodeURIComponent(runId)}`);
    const run = await response.json();
    if (!response.ok) { $("error").textContent = run.detail; return; }
    $("summary").textContent = `${run.pipeline} · ${run.status} · ${run.steps} steps · ${run.cache_hits} cache hits` +
      (run.duration_s == null ? "" : ` · ${run.duration_s.toFixed(1)} s`) + (run.error ? ` · ${run.error}` : "");
    drawDag(run);
    $("resume").hidden = !["failed", "interrupted"].includes(run.status);
    if (run.status === "running") setTimeout(load, 2000);
    $("datasets").innerHTML = run.datasets.map((d) => `<code title="${esc(d.digest)}">${esc(d.name)} ${esc(d.digest.slice(0, 12))}</code> (${esc(d.step)}${d.rows == null ? "" : `, ${d.rows} rows`})`).join(", ") || "no dataset versions recorded";
    $("produced").innerHTML = run.models.map((m) => { const [name, v] = m.split(" v"); return `<a href="/models/${encodeURIComponent(name)}/${v}">${esc(m)}</a>`; }).join(", ") || "no model versions";
    $("params").querySelector("tbody").innerHTML = Object.entries(run.params).map(([k, v]) => `<tr><td><code>${esc(k)}</code></td><td>${esc(JSON.stringify(v))}</td></tr>`).join("")
      || `<tr><td class="muted">defaults only</td></tr>`;
    const metrics = [];
    for (const [step, s] of Object.entries(run.step_records)) for (const [k, v] of Object.entries(s.metrics || {})) metrics.push(`<tr><td>${esc(step)}</td><td>${esc(k)}</td><td>${typeof v === "number" ? v.toPrecision(4) : esc(JSON.stringify(v))}</td></tr>`);
    $("metrics").querySelector("tbody").innerHTML = metrics.join("") || `<tr><td colspan="3" class="muted">no metrics</td></tr>`;
    showTracking(run.tracking);
  }
  load().catch((err) => { $("error").textContent = err.message; });
})();
