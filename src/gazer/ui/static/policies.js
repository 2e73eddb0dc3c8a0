// The policies page: each policy, and its decisions (fired or not, and why), newest first.
(() => {
  const $ = (id) => document.getElementById(id);
  const row = (values, className = "") => {
    const tr = document.createElement("tr");
    if (className) tr.className = className;
    for (const v of values) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
    return tr;
  };
  let decisions = [];
  const render = () => {
    const body = $("decisions").querySelector("tbody");
    body.innerHTML = "";
    for (const d of decisions.filter((d) => d.fired || !$("fired-only").checked)) {
      body.appendChild(row([new Date(d.at * 1000).toLocaleString(), d.policy, d.kind,
        d.version ? `v${d.version}` : "-", d.reason], `decision ${d.kind}`));
    }
  };
  async function load() {
    try {
      const [policies, made] = await Promise.all(["/api/policies", "/api/policies/decisions?limit=200"]
        .map(async (url) => {
          const response = await gazerFetch(url);
          const body = await response.json();
          if (!response.ok) throw new Error(body.detail);
          return body;
        }));
      const body = $("policies").querySelector("tbody");
      body.innerHTML = "";
      for (const p of policies) {
        body.appendChild(row([p.name, p.app, p.endpoint, p.triggers.map((t) => t.kind).join(", "),
          `${p.action.canary_weight}`, `one per ${p.limits.min_interval}${p.limits.dry_run ? ", dry run" : ""}`]));
      }
      decisions = made;
      render();
    } catch (err) { $("error").textContent = String(err.message || err); }
  }
  $("fired-only").addEventListener("change", render);
  load();
  setInterval(load, 30000);
})();
