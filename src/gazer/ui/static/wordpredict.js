// 3 words before + 3 after -> the top-5 candidates for the hidden word.
(() => {
  const $ = (id) => document.getElementById(id);
  const words = (id) => $(id).value.split(/[\s,]+/).filter((w) => w.length > 0);
  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("error").textContent = "";
    const before = words("before"), after = words("after");
    if (before.length !== 3 || after.length !== 3) {
      $("error").textContent = "Please enter exactly 3 words before and 3 words after " +
        `(got ${before.length} before and ${after.length} after).`;
      return;
    }
    const response = await gazerFetch("/predicted-word", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: [...before, ...after], top_k: 5 }),
    });
    const result = await response.json();
    if (!response.ok) { $("error").textContent = result.detail; return; }
    $("sentence").textContent = `${before.join(" ")} [${result.prediction}] ${after.join(" ")}`;
    $("top").innerHTML = "";
    for (const c of result.candidates) {
      const li = document.createElement("li");
      li.textContent = `${c.word} (${(100 * c.prob).toFixed(1)}%)`;
      $("top").appendChild(li);
    }
    $("answer-version").textContent = `answered by version ${result.model_version}`;
    gazer.labelFeedback($("feedback"), result.request_id, { prompt: "The missing word was" });
  });
})();
