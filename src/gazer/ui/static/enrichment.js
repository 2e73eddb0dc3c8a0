// Run the SQL box through /api/enrichment/query and show the rows as a table.
(() => {
  const $ = (id) => document.getElementById(id);
  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("error").textContent = "";
    $("count").textContent = "running...";
    const response = await gazerFetch("/api/enrichment/query", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ sql: $("sql").value, limit: 500 }),
    });
    const result = await response.json();
    $("result").innerHTML = "";
    if (!response.ok) { $("count").textContent = ""; $("error").textContent = result.detail; return; }
    // Rows that carry the workflow's request ids get a "wrong topic / sentiment" mark.
    const marks = [["topic_request_id", "wrong topic"], ["sentiment_request_id", "wrong sentiment"]]
      .map(([column, text]) => [result.columns.indexOf(column), text]).filter(([i]) => i >= 0);
    const head = document.createElement("tr");
    for (const c of result.columns) { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); }
    if (marks.length) { const th = document.createElement("th"); th.textContent = "feedback"; head.appendChild(th); }
    $("result").appendChild(head);
    for (const row of result.rows) {
      const tr = document.createElement("tr");
      for (const v of row) { const td = document.createElement("td"); td.textContent = v === null ? "" : v; tr.appendChild(td); }
      if (marks.length) tr.appendChild(markCell(row, marks));
      $("result").appendChild(tr);
    }
    $("count").textContent = `${result.rows.length} rows${result.truncated ? " (truncated)" : ""}`;
  });
  function markCell(row, marks) {
    const td = document.createElement("td");
    td.className = "feedback";
    for (const [i, text] of marks) {
      if (!row[i]) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "mark";
      button.textContent = text;
      button.addEventListener("click", async () => {
        try {
          await gazer.feedback(row[i], { correct: false, comment: text });
          button.replaceWith(Object.assign(document.createElement("span"),
            { className: "marked muted", textContent: `marked ${text}` }));
        } catch (err) { $("error").textContent = String(err.message || err); }
      });
      td.appendChild(button);
    }
    return td;
  }
  // The chart goes through gazerFetch too, so it carries the API key when the server needs one.
  const table = $("table");
  const showChart = async () => {
    const response = await gazerFetch(`/api/enrichment/sentiment.png?table=${encodeURIComponent(table.value)}`);
    if (!response.ok) { $("error").textContent = (await response.json()).detail; return; }
    $("chart").src = URL.createObjectURL(await response.blob());
  };
  if (table) { table.addEventListener("change", showChart); showChart(); }
})();
