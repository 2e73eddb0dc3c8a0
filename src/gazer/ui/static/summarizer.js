// Summarise the pasted text and highlight the chosen sentences in the original.
(() => {
  const $ = (id) => document.getElementById(id);
  $("go").addEventListener("click", async () => {
    $("error").textContent = "";
    const body = { Text: $("text").value };
    if ($("k").value) body.k = parseInt($("k").value, 10);
    const post = (url) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const response = await post("/summarize");
    const result = await response.json();
    if (!response.ok) { $("error").textContent = result.detail; return; }
    $("summary").textContent = result.summary;
    const all = (await (await post("/api/summarize/sentences")).json()).sentences;
    const chosen = new Set(result.sentences);
    $("original").innerHTML = "";
    all.forEach((s, i) => {
      const span = document.createElement(chosen.has(i) ? "mark" : "span");
      span.textContent = s + " ";
      $("original").appendChild(span);
    });
  });
})();
