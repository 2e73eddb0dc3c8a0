// The monitoring page: quality, A/B readout and resources, drawn as small SVG charts.
(() => {
  const script = document.currentScript;
  const endpoint = script.dataset.endpoint;
  const $ = (id) => document.getElementById(id);
  const colours = ["#2456d6", "#d97706", "#059669", "#b42318", "#7c3aed"];
  const fmt = (v, d = 3) => (v === null || v === undefined ? "-" : Number(v).toPrecision(d));
  const interval = (i) => (i.value === null ? "-" : i.low === null ? fmt(i.value) :
    `${fmt(i.value)} [${fmt(i.low)}, ${fmt(i.high)}]`);

  // series: [{name, points: [[x, y, low?, high?], ...]}] -> an SVG line chart with bands
  function chart(el, series, { yLabel = "", yMin = null, yMax = null } = {}) {
    const w = 640, h = 180, pad = 36;
    const all = series.flatMap((s) => s.points);
    el.innerHTML = "";
    if (!all.length) { el.textContent = "no data in this window"; return; }
    const xs = all.map((p) => p[0]), ys = all.flatMap((p) => [p[1], p[2] ?? p[1], p[3] ?? p[1]]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1;
    const y0 = yMin ?? Math.min(0, ...ys), y1 = yMax ?? (Math.max(...ys) || 1);
    const X = (x) => pad + (w - 2 * pad) * ((x - x0) / ((x1 - x0) || 1));
    const Y = (y) => h - pad + (2 * pad - h) * ((y - y0) / ((y1 - y0) || 1));
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", yLabel);
    const add = (tag, attrs, text) => {
      const node = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      if (text !== undefined) node.textContent = text;
      svg.appendChild(node);
      return node;
    };
    add("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: "#c9d1de" });
    add("line", { x1: pad, y1: pad, x2: pad, y2: h - pad, stroke: "#c9d1de" });
    add("text", { x: 2, y: pad, "font-size": 10 }, fmt(y1));
    add("text", { x: 2, y: h - pad, "font-size": 10 }, fmt(y0));
    add("text", { x: pad, y: h - 8, "font-size": 10 }, new Date(x0 * 1000).toLocaleString());
    add("text", { x: w - pad, y: h - 8, "font-size": 10, "text-anchor": "end" },
      new Date(x1 * 1000).toLocaleString());
    series.forEach((s, i) => {
      const colour = colours[i % colours.length];
      const pts = s.points.slice().sort((a, b) => a[0] - b[0]);
      if (pts.some((p) => p[2] !== undefined && p[2] !== null)) {
        const upper = pts.map((p) => `${X(p[0])},${Y(p[3])}`);
        const lower = pts.slice().reverse().map((p) => `${X(p[0])},${Y(p[2])}`);
        add("polygon", { points: [...upper, ...lower].join(" "), fill: colour, opacity: 0.15 });
      }
      add("polyline", { points: pts.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "),
        fill: "none", stroke: colour, "stroke-width": 2, class: "series",
        "data-name": s.name });
      for (const p of pts) add("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: colour });
      add("text", { x: w - pad, y: pad + 12 * i, "font-size": 11, fill: colour,
        "text-anchor": "end" }, s.name);
    });
    el.appendChild(svg);
  }

  const byVersion = (rows, y, extra = () => []) => {
    const groups = {};
    for (const r of rows) {
      const name = `v${r.version} ${r.role || ""}`.trim();
      (groups[name] = groups[name] || []).push([r.at, y(r), ...extra(r)]);
    }
    return Object.entries(groups).map(([name, points]) => ({ name, points }));
  };

  async function load() {
    const days = $("days").value;
    $("error").textContent = "";
    const get = async (url) => {
      const r = await gazerFetch(url);
      const body = await r.json();
      if (!r.ok) throw new Error(body.detail || url);
      return body;
    };
    try {
      const [quality, ab, resources] = await Promise.all([
        get(`/v2/models/${endpoint}/quality?days=${days}`),
        get(`/v2/models/${endpoint}/ab?days=${days}`),
        get(`/api/monitoring/resources?days=${days}`)]);
      const body = $("versions").querySelector("tbody");
      body.innerHTML = "";
      for (const v of quality.versions) {
        const tr = document.createElement("tr");
        tr.dataset.version = v.version;
        for (const cell of [`v${v.version}`, v.role, v.predictions, v.errors, fmt(v.latency_p50_ms),
          fmt(v.latency_p99_ms), interval(v.accuracy), v.accuracy.n,
          v.estimate ? `${fmt(v.estimate.value)}${v.estimate.gap === null ? "" :
            ` (gap ${fmt(v.estimate.gap, 2)})`}` : "-", interval(v.rating)]) {
          const td = document.createElement("td");
          td.textContent = cell;
          tr.appendChild(td);
        }
        body.appendChild(tr);
      }
      const e = quality.energy;
      const training = Object.entries(quality.training_co2_kg || {})
        .map(([v, kg]) => `v${v} training ${fmt(kg * 1000)} g`).join(", ");
      $("energy").textContent = `CO2 per 1,000 answers: ${e.co2_g_per_1k === null ? "-" :
        fmt(e.co2_g_per_1k) + " g"} (${e.predictions} answers measured)` +
        (training ? `; ${training}` : "");
      renderAb(ab);
      chart($("accuracy-chart"), byVersion(quality.daily, (r) => r.value, (r) => [r.low, r.high])
        .map((s) => ({ ...s, points: s.points.map((p) => [p[0], p[1], p[2], p[3]]) })),
        { yLabel: "accuracy", yMin: 0, yMax: 1 });
      chart($("volume-chart"), byVersion(quality.timeline, (r) => r.predictions), { yLabel: "answers" });
      chart($("latency-chart"), byVersion(quality.timeline, (r) => r.latency_mean_ms), { yLabel: "mean ms" });
      chart($("errors-chart"), byVersion(quality.timeline, (r) => r.errors), { yLabel: "errors" });
      chart($("cpu-chart"), [{ name: "CPU %", points: resources.map((r) => [r.at, r.cpu_percent]) }],
        { yLabel: "CPU %" });
      chart($("memory-chart"), [{ name: "memory MB",
        points: resources.map((r) => [r.at, r.rss_bytes / 2 ** 20]) }], { yLabel: "memory MB" });
      $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      $("error").textContent = String(err.message || err);
    }
  }

  function renderAb(ab) {
    const el = $("ab");
    if (!ab.active) { el.textContent = ab.detail; return; }
    const v = ab.verdict;
    const rows = ["champion", "challenger"].map((side) => {
      const s = ab[side];
      return `<tr><td>${side}</td><td>v${s.version}</td><td>${s.predictions}</td>
        <td>${fmt(s.error_rate)}</td><td>${fmt(s.latency_p50_ms)}</td><td>${interval(s.accuracy)}</td>
        <td>${s.accuracy.n}</td></tr>`;
    }).join("");
    let text = `<p class="verdict"><strong>challenger ${v.decision}</strong>`;
    if (v.difference !== null) {
      text += `: ${fmt(v.difference)} [${fmt(v.low)}, ${fmt(v.high)}] over ${v.pairs} pairs`;
    }
    if (v.labels_needed) text += `; about ${v.labels_needed} more labels at this difference`;
    text += "</p>";
    if (ab.agreement) text += `<p>agreement on the same inputs: ${interval(ab.agreement)}</p>`;
    if (ab.sample_ratio) {
      text += `<p>split: challenger ${fmt(ab.sample_ratio.observed_share)} (configured ` +
        `${ab.sample_ratio.expected_share})${ab.sample_ratio.mismatch ? " — MISMATCH" : ""}</p>`;
    }
    el.innerHTML = `<table><thead><tr><th></th><th>version</th><th>answers</th><th>error rate</th>
      <th>p50 ms</th><th>${ab.outcome}</th><th>labels</th></tr></thead><tbody>${rows}</tbody></table>${text}`;
  }

  $("days").addEventListener("change", load);
  load();
  setInterval(load, 30000);
})();
