// Small helpers shared by every page; no build step.
window.gazer = {
  async refreshEndpoints(selector, everyMs) {
    const table = document.querySelector(selector);
    if (!table) return;
    const update = async () => {
      try {
        const rows = await (await fetch("/api/endpoints")).json();
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
  localTimes(selector) {
    for (const el of document.querySelectorAll(selector)) {
      el.textContent = new Date(parseFloat(el.dataset.ts) * 1000).toLocaleString();
    }
  },
};
