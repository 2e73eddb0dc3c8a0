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
