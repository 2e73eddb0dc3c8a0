// The drift page: one verdict, a row per feature, reference-vs-window histograms as SVG.
(() => {
  const endpoint = document.currentScript.dataset.endpoint;
  const $ = (id) => document.getElementById(id);
  const fmt = (v, d = 3) => (v === null || v === undefined ? "-" : Number(v).toPrecision(d));
  const SVG = "http://www.w3.org/2000/svg";
  const el = (name, attrs = {}) => {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };

  // Two share vectors over the same bins (or labels), as side-by-side bars.
  function bars(feature) {
    const ref = feature.reference, cur = feature.window;
    const box = document.createElement("figure");
    box.className = "drift-plot";
    const caption = document.createElement("figcaption");
    caption.textContent = `${feature.name}${feature.drifted ? " (drift)" : ""}`;
    if (!ref.shares) {  // a domain classifier: one figure, its AUC
      const p = document.createElement("p");
      p.textContent = `domain classifier ROC AUC ${fmt(ref.auc)} (0.5: production looks like the reference)`;
      box.append(caption, p);
      return box;
    }
    const w = 300, h = 120, pad = 20, n = ref.shares.length;
    const top = Math.max(...ref.shares, ...cur.shares) || 1;
    const svg = el("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img",
      "aria-label": `${feature.name}: reference against window` });
    const bw = (w - 2 * pad) / n;
    ref.shares.forEach((share, i) => {
      for (const [k, value, colour] of [[0, share, "#9ca3af"], [1, cur.shares[i], "#2456d6"]]) {
        const bh = (h - 2 * pad) * (value / top);
        svg.appendChild(el("rect", { x: pad + i * bw + k * bw / 2, y: h - pad - bh,
          width: Math.max(bw / 2 - 1, 1), height: bh, fill: colour }));
      }
    });
    const label = (x, text, anchor) => {
      const t = el("text", { x, y: h - 4, "font-size": 10, "text-anchor": anchor });
      t.textContent = text;
      svg.appendChild(t);
    };
    if (ref.edges) { label(pad, fmt(ref.edges[0]), "start"); label(w - pad, fmt(ref.edges[ref.edges.length - 1]), "end"); }
    else if (ref.labels) { label(pad, ref.labels[0], "start"); label(w - pad, ref.labels[ref.labels.length - 1], "end"); }
    box.append(caption, svg);
    return box;
  }

  function render(report) {
    const verdict = $("verdict");
    verdict.textContent = `${report.drifted === null ? "not known" : report.drifted ? "DRIFT" : "no drift"}`
      + ` (${report.model} v${report.version}, ${report.n_window} answers): ${report.detail}`;
    verdict.dataset.drifted = String(report.drifted);
    const body = $("features").querySelector("tbody");
    body.innerHTML = "";
    for (const f of report.features) {
      const tr = document.createElement("tr");
      for (const v of [f.name, f.test, fmt(f.effect), fmt(f.adjusted_p, 2), f.n_window, f.drifted ? "DRIFT" : ""]) {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      }
      if (f.drifted) tr.className = "drifted";
      body.appendChild(tr);
    }
    $("plots").innerHTML = "";
    for (const f of report.features) $("plots").appendChild(bars(f));
  }

  async function load() {
    $("error").textContent = "";
    try {
      const window_ = encodeURIComponent($("window").value);
      const response = await gazerFetch(`/v2/models/${endpoint}/drift?window=${window_}`);
      const report = await response.json();
      if (!response.ok) throw new Error(report.detail);
      render(report);
      const history = await (await gazerFetch(`/v2/models/${endpoint}/drift/history?limit=20`)).json();
      const body = $("history").querySelector("tbody");
      body.innerHTML = "";
      for (const h of history) {
        const tr = document.createElement("tr");
        for (const v of [new Date(h.at * 1000).toLocaleString(), `v${h.version}`, h.n_window,
          h.drifted === null ? "not known" : h.drifted ? "DRIFT" : "no drift", h.drivers.join(", ")]) {
          const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
        }
        body.appendChild(tr);
      }
    } catch (err) { $("error").textContent = String(err.message || err); }
  }
  $("window").addEventListener("change", load);
  $("check").addEventListener("click", load);
  load();
})();
