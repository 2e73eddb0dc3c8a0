// Summarise the pasted text and highlight the chosen sentences in the original.
(() => {
  const $ = (id) => document.getElementById(id);
  $("go").addEventListener("click", async () => {
    $("error").textContent = "";
    const body = { Text: $("text").value };
    if ($("k").value) body.k = parseInt($("k").value, 10);
    const post = (url) => gazerFetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const response = await post("/summarize");
    const result = await response.json();
    if (!response.ok) { $("error").textContent = result.detail; return; }
    $("summary").textContent = result.summary;
    const all = (await (await post("/api/summarize/sentences")).json()).sentences;
    const chosen = new Set(result.sentences);
    $("original").innerHTML = "";
    const box = $("feedback");
    const status = box.querySelector(".feedback-status");
    const send = async (fields) => {
      try {
        const stored = await gazer.feedback(result.request_id, fields);
        status.textContent = `thanks: stored (feedback ${stored.revisions} on this summary)`;
      } catch (err) { status.textContent = String(err.message || err); }
    };
    all.forEach((s, i) => {
      const span = document.createElement(chosen.has(i) ? "mark" : "span");
      span.textContent = s + " ";
      if (!chosen.has(i)) {
        span.className = "pick";
        span.title = "this sentence should have been in the summary";
        span.addEventListener("click", () => send({ correct: false,
          comment: `should include sentence ${i}: ${s}` }));
      }
      $("original").appendChild(span);
    });
    box.hidden = false;
    for (const star of box.querySelectorAll(".stars button")) {
      star.onclick = () => {
        const rating = parseInt(star.dataset.rating, 10);
        box.querySelectorAll(".stars button").forEach((b, j) => { b.textContent = j < rating ? "★" : "☆"; });
        send({ rating });
      };
    }
  });
})();

// Batch: upload a CSV, poll the job, offer the result.
(() => {
  const $ = (id) => document.getElementById(id);
  $("start").addEventListener("click", async () => {
    $("batch-error").textContent = "";
    $("download").hidden = true;
    if (!$("csv").files.length) { $("batch-error").textContent = "choose a CSV file first"; return; }
    const form = new FormData();
    form.append("file", $("csv").files[0]);
    form.append("column", $("column").value);
    const started = await gazerFetch("/api/batch/jobs", { method: "POST", body: form });
    const job = await started.json();
    if (!started.ok) { $("batch-error").textContent = job.detail; return; }
    const poll = async () => {
      const s = await (await gazerFetch(job.status_url)).json();
      $("bar").max = Math.max(s.rows_total, 1);
      $("bar").value = s.rows_done;
      $("rows").textContent = `${s.rows_done} / ${s.rows_total} rows (${s.status})`;
      if (s.status === "done") {
        $("download").href = s.download_url;
        $("download").hidden = false;
        $("rows").textContent += ` — ${s.predicted} summarised, ${s.errors} errors`;
      } else if (s.status === "failed") {
        $("batch-error").textContent = s.error;
      } else {
        setTimeout(poll, 1000);
      }
    };
    poll();
  });
})();
