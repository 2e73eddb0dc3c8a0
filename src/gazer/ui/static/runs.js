// The runs list: filters, and pages of 50 through /api/runs.
(() => {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const LIMIT = 50;
  let offset = 0;
  const when = (t) => new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
  async function load() {
    $("error").textContent = "";
    const q = new URLSearchParams({limit: LIMIT, offset});
    for (const k of ["pipeline", "status"]) if ($(k).value) q.set(k, $(k).value);
    if ($("since").value) q.set("since", Date.now() / 1000 - Number($("since").value));
    const response = await gazerFetch(`/api/runs?${q}`);
    const body = await response.json();
    if (!response.ok) { $("error").textContent = body.detail; return; }
    const rows = $("runs").querySelector("tbody");
    rows.innerHTML = body.runs.map((r) => `<tr data-run="${esc(r.id)}" class="status-${esc(r.status)}">
      <td><a href="/runs/${encodeURIComponent(r.id)}">${esc(r.id)}</a></td><td>${esc(r.pipeline)}</td>
      <td class="status">${esc(r.status)}</td><td>${when(r.created_at)}</td>
      <td>${r.duration_s == null ? "-" : r.duration_s.toFixed(1) + " s"}</td><td>${r.steps}</td><td>${r.cache_hits}</td></tr>`).join("")
      || `<tr><td colspan="7" class="muted">no runs match</td></tr>`;
    $("prev").disabled = offset === 0;
    $("next").disabled = !body.more;
    $("page").textContent = body.runs.length ? `${offset + 1}-${offset + body.runs.length}` : "";
  }
  for (const k of ["pipeline", "status", "since"]) $(k).addEventListener("change", () => { offset = 0; load(); });
  $("prev").addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); load(); });
  $("next").addEventListener("click", () => { offset += LIMIT; load(); });
  load().catch((err) => { $("error").textContent = err.message; });
})();
