// The papers page: add (upload, arXiv search and import), the library, a paper's summary,
// ask with highlighted answers and ratings, and a chat with follow-ups.
(() => {
  const $ = (id) => document.getElementById(id);
  let current = null;  // the open paper
  let chatId = null;
  let searchStart = 0;

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  async function json(url, options) {
    const response = await gazerFetch(url, options);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `${response.status}`);
    return body;
  }
  const post = (url, body) => json(url, {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});

  function marked(text, spans) {
    let out = "", at = 0;
    for (const [s, e] of spans) { out += esc(text.slice(at, s)) + "<mark>" + esc(text.slice(s, e)) + "</mark>"; at = e; }
    return out + esc(text.slice(at));
  }

  function answerBlock(a, withPaper) {
    const div = document.createElement("div");
    div.className = "answer card";
    div.dataset.requestId = a.request_id;
    div.innerHTML = `<p class="passage">${marked(a.text, a.highlights)}</p>
      <p class="muted">${withPaper ? esc(a.paper_title) + " · " : ""}page ${a.page} · ${esc(a.section)} · score ${a.score.toFixed(3)}
      <button type="button" class="in-context">in context</button></p>
      <p class="rate"><span class="stars">${[1, 2, 3, 4, 5].map((i) => `<button type="button" data-rating="${i}" aria-label="${i} stars">☆</button>`).join("")}</span>
      <button type="button" class="answered">this answered it</button> <span class="rate-status muted"></span></p>`;
    const status = div.querySelector(".rate-status");
    const rate = async (fields) => {
      try { const s = await gazer.feedback(a.request_id, fields); status.textContent = `thanks: stored (${s.revisions})`; }
      catch (err) { status.textContent = err.message; }
    };
    div.querySelectorAll("[data-rating]").forEach((b) => b.addEventListener("click", () => {
      const n = Number(b.dataset.rating);
      div.querySelectorAll("[data-rating]").forEach((x) => { x.textContent = Number(x.dataset.rating) <= n ? "★" : "☆"; });
      rate({rating: n});
    }));
    div.querySelector(".answered").addEventListener("click", () => rate({correct: true}));
    div.querySelector(".in-context").addEventListener("click", () => showContext(a));
    return div;
  }

  async function showContext(a) {
    const box = $("context");
    const c = await json(`/api/papers/${a.paper_id}/passages/${a.passage}`);
    box.hidden = false;
    box.innerHTML = `<h3>Page ${c.page} · ${esc(c.section)}</h3><p>…${esc(c.before)}<mark class="context">${esc(c.passage)}</mark>${esc(c.after)}…</p>`;
    box.scrollIntoView({block: "nearest"});
  }

  function showAnswers(target, result, withPaper) {
    target.innerHTML = "";
    if (!result.answerable) {
      target.innerHTML = `<p class="unanswerable">No passage of ${withPaper ? "these papers" : "this paper"} answers that.</p>`;
      return;
    }
    for (const a of result.answers) target.appendChild(answerBlock(a, withPaper));
  }

  async function loadPapers() {
    const papers = await json("/api/papers");
    const body = $("papers").querySelector("tbody");
    body.innerHTML = "";
    for (const p of papers) {
      const tr = document.createElement("tr");
      tr.dataset.paper = p.id;
      tr.innerHTML = `<td><a href="#" class="open">${esc(p.title)}</a></td><td>${esc(p.authors.join(", "))}</td><td>${p.pages}</td><td>${esc(p.source)}</td>`;
      tr.querySelector(".open").addEventListener("click", (e) => { e.preventDefault(); openPaper(p); });
      body.appendChild(tr);
    }
    const wanted = new URLSearchParams(location.search).get("paper");
    const first = papers.find((p) => p.id === wanted);
    if (first && !current) openPaper(first);
  }

  async function openPaper(p) {
    current = p; chatId = null;
    $("paper").hidden = false;
    $("paper-title").textContent = p.title;
    $("paper-meta").textContent = `${p.authors.join(", ")} · ${p.pages} pages · ${p.passages} passages${p.ocr_pages ? ` · ${p.ocr_pages} by OCR` : ""}`;
    $("answers").innerHTML = ""; $("chat").innerHTML = ""; $("context").hidden = true;
    const box = $("summary");
    box.innerHTML = `<p class="muted">summarising…</p>`;
    try {
      const started = Date.now();
      let s = await json(`/api/papers/${p.id}/summary`);
      while (s.status === "computing") {
        if (current !== p) return;  // another paper was opened meanwhile
        box.innerHTML = `<p class="muted">summarising… (${Math.round((Date.now() - started) / 1000)} s so far)</p>`;
        await new Promise((done) => setTimeout(done, 1000 * (s.retry_after || 2)));
        s = await json(`/api/papers/${p.id}/summary`);
      }
      if (current !== p) return;
      box.innerHTML = `<h4>The paper</h4><p>${s.paper.map(esc).join(" ")}</p>` +
        s.sections.map((x) => `<h4>${esc(x.title)} <span class="muted">p. ${x.page}</span></h4><p>${x.sentences.map(esc).join(" ")}</p>`).join("");
    } catch (err) { box.innerHTML = `<p class="muted">${esc(err.message)}</p>`; }
  }

  $("ask").addEventListener("click", async () => {
    $("ask-error").textContent = "";
    const across = $("all").checked;
    if (!current && !across) { $("ask-error").textContent = "open a paper first (or tick: ask across every paper)"; return; }
    try {
      const body = {question: $("question").value, top_k: Number($("top-k").value) || 3};
      const r = await post(across ? "/api/papers/ask" : `/api/papers/${current.id}/ask`, body);
      showAnswers($("answers"), r, across);
    } catch (err) { $("ask-error").textContent = err.message; }
  });

  async function say() {
    const question = $("chat-input").value;
    if (!current || !question) return;
    const chat = $("chat");
    const q = document.createElement("p"); q.className = "you"; q.textContent = question; chat.appendChild(q);
    try {
      const r = await post(`/api/papers/${current.id}/chat`, {question, top_k: 1, chat_id: chatId});
      chatId = r.chat_id;
      const turn = document.createElement("div"); turn.className = "turn"; turn.dataset.turn = r.turn;
      showAnswers(turn, r, false);
      chat.appendChild(turn);
      $("chat-input").value = "";
    } catch (err) { const e = document.createElement("p"); e.setAttribute("role", "alert"); e.textContent = err.message; chat.appendChild(e); }
  }
  $("say").addEventListener("click", say);
  $("new-chat").addEventListener("click", () => { chatId = null; $("chat").innerHTML = ""; });

  async function added(p) {
    $("add-status").textContent = p.new ? `indexed: ${p.title} (${p.pages} pages, ${p.passages} passages)` : `already in the library: ${p.title}`;
    await loadPapers();
    openPaper(p);
  }

  $("upload").addEventListener("click", async () => {
    $("add-error").textContent = "";
    const file = $("file").files[0];
    if (!file) { $("add-error").textContent = "choose a PDF first"; return; }
    const form = new FormData(); form.append("file", file);
    $("add-status").textContent = "indexing…";
    try { await added(await json("/api/papers", {method: "POST", body: form})); }
    catch (err) { $("add-status").textContent = ""; $("add-error").textContent = err.message; }
  });

  $("import").addEventListener("click", async () => {
    $("add-error").textContent = "";
    $("add-status").textContent = "fetching…";
    try { await added(await post("/api/papers/import", {arxiv: $("arxiv-id").value})); }
    catch (err) { $("add-status").textContent = ""; $("add-error").textContent = err.message; }
  });

  async function search() {
    $("add-error").textContent = "";
    try {
      const r = await json(`/api/papers/search?q=${encodeURIComponent($("q").value)}&start=${searchStart}&max_results=10`);
      const table = $("results"); table.hidden = false;
      const body = table.querySelector("tbody"); body.innerHTML = "";
      for (const e of r.entries) {
        const tr = document.createElement("tr");
        tr.innerHTML = `<td>${esc(e.title)}</td><td>${esc(e.authors.join(", "))}</td><td>${esc(e.published.slice(0, 10))}</td><td><button type="button">Import</button></td>`;
        tr.querySelector("button").addEventListener("click", async () => {
          $("add-status").textContent = "fetching…";
          try { await added(await post("/api/papers/import", {arxiv: e.id})); }
          catch (err) { $("add-status").textContent = ""; $("add-error").textContent = err.message; }
        });
        body.appendChild(tr);
      }
      $("pager").hidden = false;
      $("page-of").textContent = `${r.start + 1}-${r.start + r.entries.length} of ${r.total}`;
      $("prev").disabled = r.start === 0;
      $("next").disabled = r.start + r.entries.length >= r.total;
    } catch (err) { $("add-error").textContent = err.message; }
  }
  $("search").addEventListener("click", () => { searchStart = 0; search(); });
  $("prev").addEventListener("click", () => { searchStart = Math.max(0, searchStart - 10); search(); });
  $("next").addEventListener("click", () => { searchStart += 10; search(); });

  loadPapers().catch((err) => { $("add-error").textContent = err.message; });
})();
