// Small helpers shared by every page; no build step.

// fetch() with the API key this browser tab was given, if any. On a 401 or 403 the page asks
// for a key once, keeps it in sessionStorage (never in the HTML, gone with the tab) and retries.
async function gazerFetch(url, options = {}) {
  const send = () => {
    const key = sessionStorage.getItem("gazer.apiKey");
    const headers = new Headers(options.headers || {});
    if (key) headers.set("Authorization", `Bearer ${key}`);
    return fetch(url, { ...options, headers });
  };
  let response = await send();
  // Ask on 401 (no or unknown key), or on 403 once a key was given (it lacks the scope); a
  // 403 without a key means the route is disabled, which no key typed here can change.
  const asked = sessionStorage.getItem("gazer.apiKey.declined");
  const needsKey = response.status === 401 ||
    (response.status === 403 && sessionStorage.getItem("gazer.apiKey"));
  if (needsKey && !asked) {
    const detail = (await response.clone().json().catch(() => ({}))).detail || "";
    const key = window.prompt(`This server needs an API key. ${detail}\nAPI key:`);
    if (key) {
      sessionStorage.setItem("gazer.apiKey", key.trim());
      response = await send();
    } else {
      sessionStorage.setItem("gazer.apiKey.declined", "1");  // don't ask again in this tab
    }
  }
  return response;
}

window.gazer = {
  // A small SVG line chart of [[x, y], ...] (numeric x, e.g. epochs), with its range.
  lineChart(points, { label = "", xLabel = "step", width = 320, height = 160 } = {}) {
    const esc = (t) => String(t).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
    const num = (v) => Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(2) : v.toPrecision(3);
    const P = 34, xs = points.map(([x]) => x), ys = points.map(([, y]) => y);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const X = (v) => P + ((v - x0) / ((x1 - x0) || 1)) * (width - 2 * P);
    const Y = (v) => height - P - ((v - y0) / ((y1 - y0) || Math.abs(y1) || 1)) * (height - 2 * P);
    const path = points.map(([x, y], i) => `${i ? "L" : "M"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ");
    return `<svg class="line-chart" width="${width}" height="${height}" role="img" aria-label="${esc(label)} by ${esc(xLabel)}">
      <text x="${P}" y="14" font-size="12" font-weight="600">${esc(label)}</text>
      <text x="${width - P}" y="14" font-size="11" text-anchor="end" fill="#555">${num(y0)} to ${num(y1)}</text>
      <line x1="${P}" y1="${height - P}" x2="${width - P}" y2="${height - P}" stroke="#bbb"/>
      <text x="${P}" y="${height - P + 14}" font-size="10">${esc(xLabel)} ${x0}</text>
      <text x="${width - P}" y="${height - P + 14}" font-size="10" text-anchor="end">${x1}</text>
      <path d="${path}" fill="none" stroke="#2b6cb0" stroke-width="2"/>
      ${points.map(([x, y]) => `<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="#2b6cb0"><title>${esc(xLabel)} ${x}: ${num(y)}</title></circle>`).join("")}</svg>`;
  },
  // The demo's background training: a banner on every page (what trains, its step, epochs
  // and ETA; what is queued; what went live) and a line on each home-page card. Polls
  // /api/training every 2 s while something is queued or training, then stops.
  async watchTraining() {
    const banner = document.getElementById("training");
    if (!banner) return;
    const eta = (s) => s == null ? "?" : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`;
    const describe = (a, progress) => {
      if (a.status === "training") {
        const loops = progress.filter((p) => p.total).map((p) => `${p.desc} ${p.done}/${p.total} (${Math.round(p.pct)}%), ETA ${eta(p.eta_s)}`);
        return `training${a.step ? ` (step ${a.step})` : ""}${loops.length ? `: ${loops.join("; ")}` : ""}`;
      }
      if (a.status === "live") return `live: v${a.version} is the champion`;
      if (a.status === "queued") return "queued for training";
      return `${a.status}: ${a.detail}`;
    };
    let seen = false;
    const update = async () => {
      let status;
      try {
        // never prompts for a key: without one on a keyed server the banner stays hidden
        const key = sessionStorage.getItem("gazer.apiKey");
        const response = await fetch("/api/training", key ? { headers: { Authorization: `Bearer ${key}` } } : {});
        if (!response.ok) return false;
        status = await response.json();
      } catch (err) { return true; }
      if (!status.apps.length) return false;
      seen = true;
      for (const a of status.apps) {
        const line = document.querySelector(`section[data-app="${a.app}"] .training-state`);
        if (line) { line.textContent = describe(a, status.progress); line.dataset.status = a.status; }
      }
      const queued = status.apps.filter((a) => a.status === "queued").map((a) => a.app);
      const done = status.apps.filter((a) => a.status !== "queued" && a.status !== "training");
      const current = status.apps.find((a) => a.status === "training");
      banner.hidden = false;
      banner.dataset.active = String(status.active);
      banner.textContent = (current ? `Training ${current.app}: ${describe(current, status.progress)}. ` : "All apps are trained. ") +
        (queued.length ? `Queued: ${queued.join(", ")}. ` : "") +
        (done.length ? done.map((a) => `${a.app}: ${a.status}${a.version ? ` v${a.version}` : ""}`).join(" · ") : "") +
        (current ? " Each app goes live when its champion lands; no restart needed." : "");
      return status.active;
    };
    while (await update()) await new Promise((done) => setTimeout(done, 2000));
    if (seen) banner.dataset.active = "false";
  },
  async refreshEndpoints(selector, everyMs) {
    const table = document.querySelector(selector);
    if (!table) return;
    const update = async () => {
      try {
        const rows = await (await gazerFetch("/api/endpoints")).json();
        for (const e of rows) {
          const tr = table.querySelector(`tr[data-endpoint="${e.name}"]`);
          if (!tr) continue;
          tr.querySelector(".champion-version").textContent = e.champion.version ? `v${e.champion.version}` : "-";
          tr.querySelector(".challenger-version").textContent = e.challenger.version ? `v${e.challenger.version}` : "-";
          tr.querySelector(".state").textContent = e.champion.state;
        }
      } catch (err) { console.warn("refresh failed", err); }
    };
    setInterval(update, everyMs);
  },
  // POST /v2/feedback on one answer; resolves to the stored feedback or throws its detail.
  async feedback(requestId, fields) {
    const response = await gazerFetch("/v2/feedback", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ request_id: requestId, ...fields }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || "feedback failed");
    return body;
  },
  // "Right" / "Wrong, it was [...]" under an answer; ``labels`` (optional) fill a list.
  labelFeedback(container, requestId, { labels = null, prompt = "Wrong, it was" } = {}) {
    container.innerHTML = "";
    container.className = "feedback";
    const status = document.createElement("span");
    status.className = "feedback-status muted";
    const send = async (fields) => {
      try {
        const stored = await gazer.feedback(requestId, fields);
        status.textContent = `thanks: stored (feedback ${stored.revisions} on this answer)`;
      } catch (err) { status.textContent = String(err.message || err); }
    };
    const right = document.createElement("button");
    right.type = "button";
    right.className = "right";
    right.textContent = "Right";
    right.addEventListener("click", () => send({ correct: true }));
    const label = document.createElement(labels ? "select" : "input");
    label.className = "label";
    label.setAttribute("aria-label", prompt);
    if (labels) {
      for (const l of labels) {
        const option = document.createElement("option");
        option.value = option.textContent = l;
        label.appendChild(option);
      }
    }
    const wrong = document.createElement("button");
    wrong.type = "button";
    wrong.className = "wrong";
    wrong.textContent = prompt;
    wrong.addEventListener("click", () => send({ correct: false, label: label.value.trim() }));
    container.append(right, wrong, label, " ", status);
  },
  localTimes(selector) {
    for (const el of document.querySelectorAll(selector)) {
      el.textContent = new Date(parseFloat(el.dataset.ts) * 1000).toLocaleString();
    }
  },
};

document.addEventListener("DOMContentLoaded", () => gazer.watchTraining());
