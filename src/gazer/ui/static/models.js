// The models pages: every model; one model's versions side by side with a chart of the
// gate's metric; one version's gate, metrics, tags and lineage.
(() => {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const num = (v) => (typeof v === "number" ? v.toPrecision(4) : "-");
  async function json(url) {
    const response = await gazerFetch(url);
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || `${response.status}`);
    return body;
  }
  const name = $("model-name") ? $("model-name").textContent : null;
  const version = $("model-version") ? $("model-version").textContent : null;

  function chart(model) {
    const points = model.versions.map((v) => [v.version, v.metrics[model.gate_metric]]).filter(([, y]) => typeof y === "number");
    if (!points.length) { $("chart").innerHTML = `<p class="muted">no ${esc(model.gate_metric || "metric")} recorded</p>`; return; }
    const W = 640, H = 220, P = 40;
    const ys = points.map(([, y]) => y), lo = Math.min(...ys), hi = Math.max(...ys);
    const span = hi - lo || Math.abs(hi) || 1;
    const x = (i) => P + (points.length === 1 ? (W - 2 * P) / 2 : i * (W - 2 * P) / (points.length - 1));
    const y = (v) => H - P - ((v - lo) / span) * (H - 2 * P);
    const path = points.map(([, v], i) => `${i ? "L" : "M"}${x(i)},${y(v)}`).join(" ");
    const dots = points.map(([ver, v], i) => `<circle class="point" data-version="${ver}" cx="${x(i)}" cy="${y(v)}" r="4" fill="#2b6cb0"><title>v${ver}: ${num(v)}</title></circle>
      <text x="${x(i)}" y="${H - P + 16}" font-size="11" text-anchor="middle">v${ver}</text>`).join("");
    $("chart").innerHTML = `<svg width="${W}" height="${H}" role="img" aria-label="${esc(model.gate_metric)} by version">
      <text x="${P}" y="14" font-size="12">${esc(model.gate_metric)} (${num(lo)} to ${num(hi)})</text>
      <path d="${path}" fill="none" stroke="#2b6cb0" stroke-width="2"/>${dots}</svg>`;
  }

  async function listModels() {
    const models = await json("/api/models");
    $("models").querySelector("tbody").innerHTML = models.map((m) => `<tr data-model="${esc(m.name)}"><td><a href="/models/${encodeURIComponent(m.name)}">${esc(m.name)}</a></td>
      <td>${m.versions}</td><td>${m.champion ? "v" + m.champion : "-"}</td><td>${m.challenger ? "v" + m.challenger : "-"}</td></tr>`).join("")
      || `<tr><td colspan="4" class="muted">no models yet: gazer run example</td></tr>`;
  }

  async function showModel() {
    const model = await json(`/api/models/${encodeURIComponent(name)}`);
    chart(model);
    const metrics = [...new Set(model.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
    const table = $("versions");
    table.querySelector("thead").innerHTML = `<tr><th>version</th><th>aliases</th><th>gate</th>${metrics.map((m) => `<th${m === model.gate_metric ? ' class="gate-metric"' : ""}>${esc(m)}</th>`).join("")}<th>run</th></tr>`;
    table.querySelector("tbody").innerHTML = [...model.versions].reverse().map((v) => `<tr data-version="${v.version}">
      <td><a href="/models/${encodeURIComponent(name)}/${v.version}">v${v.version}</a></td><td>${esc(v.aliases.join(", "))}</td><td>${esc(v.gate || "-")}</td>
      ${metrics.map((m) => `<td>${num(v.metrics[m])}</td>`).join("")}
      <td>${v.run_id ? `<a href="/runs/${encodeURIComponent(v.run_id)}">${esc(v.run_id)}</a>` : "-"}</td></tr>`).join("");
  }

  async function showVersion() {
    const v = await json(`/api/models/${encodeURIComponent(name)}/${version}`);
    const l = v.lineage;
    $("lineage").innerHTML = [
      `<li>dataset version ${l.dataset ? `<code>${esc(l.dataset.slice(0, 12))}</code>` : "not recorded"}</li>`,
      l.external ? `<li>trained elsewhere: ${esc(l.external.origin)} (<code>${esc(l.external.source_path)}</code>, ${esc(l.external.source_format)}, sha256 <code>${esc((l.external.source_sha256 || "").slice(0, 12))}</code>, registered by ${esc(l.external.registered_by)})</li>`
        : `<li>run ${l.run_page ? `<a href="${l.run_page}">${esc(l.run)}</a>` : "not recorded"}</li>`,
      `<li>model version <strong>${esc(l.version)}</strong> (${esc(v.aliases.join(", ") || "no alias")})</li>`,
      `<li>served by ${l.endpoints.length ? l.endpoints.map((e) => `<a href="${e.monitoring}">${esc(e.endpoint)}</a> as ${esc(e.role)}`).join(", ") : "no endpoint of this server"}</li>`].join("");
    $("gate").textContent = `${v.gate || "no gate recorded"}${v.gate_metric ? ` on ${v.gate_metric}` : ""}`;
    $("reasons").innerHTML = v.gate_reasons.map((r) => `<li>${esc(r)}</li>`).join("");
    if (v.gate_decision) $("gate").textContent += ` · candidate ${num(v.gate_decision.candidate)} vs champion ${v.gate_decision.champion == null ? "none" : num(v.gate_decision.champion)}`;
    $("metrics").querySelector("tbody").innerHTML = Object.entries(v.metrics).map(([k, m]) => `<tr><td>${esc(k)}</td><td>${num(m)}</td></tr>`).join("");
    // the run's Markdown arrives rendered by the server, with any raw HTML in it escaped
    $("model-card").innerHTML = v.model_card ? v.model_card.html : `<p class="muted">${esc(v.documents_error || "the run logged no model card")}</p>`;
    $("behaviour").innerHTML = v.behaviour_tests ? v.behaviour_tests.html : `<p class="muted">the run logged no behaviour tests</p>`;
    const others = v.documents.filter((d) => d !== null && (!v.model_card || d.path !== v.model_card.path) && (!v.behaviour_tests || d.path !== v.behaviour_tests.path));
    $("documents").innerHTML = others.map((d) => `<details><summary>${esc(d.path)}</summary>${d.html}</details>`).join("");
    const p = v.reference_profile;
    $("profile").innerHTML = !p ? `<p class="muted">no reference profile stored for this version</p>` :
      `<p>${esc(p.kind)} inputs · ${p.n} validation rows · ${p.scalar_features} features${p.vectors ? ` · ${p.vectors} embedding vectors` : ""}</p>` +
      (Object.keys(p.features).length ? `<table class="profile"><thead><tr><th>feature</th><th>mean</th><th>std</th><th>p5</th><th>p95</th></tr></thead><tbody>${Object.entries(p.features).map(([f, s]) => `<tr><td>${esc(f)}</td><td>${num(s.mean)}</td><td>${num(s.std)}</td><td>${num(s.p5)}</td><td>${num(s.p95)}</td></tr>`).join("")}</tbody></table>` : "") +
      (p.top_tokens.length ? `<p>Top tokens: ${p.top_tokens.map(([t, c]) => `<code>${esc(t)}</code> ${c}`).join(", ")}</p>` : "") +
      (Object.keys(p.predicted).length ? `<p>Predicted classes: ${Object.entries(p.predicted).map(([c, s]) => `${esc(c)} ${(100 * s).toFixed(1)}%`).join(", ")}</p>` : "");
    $("tags").querySelector("tbody").innerHTML = Object.entries(v.tags).filter(([k]) => !k.startsWith("metric.")).map(([k, t]) => `<tr><td><code>${esc(k)}</code></td><td>${esc(String(t).slice(0, 300))}</td></tr>`).join("");
  }

  (version ? showVersion() : name ? showModel() : listModels()).catch((err) => { $("error").textContent = err.message; });
})();
