// Drawing pad (mouse, pen and touch through pointer events) and upload for /guessjapanesecharacter.
(() => {
  const pad = document.getElementById("pad");
  const ctx = pad.getContext("2d");
  const top = document.getElementById("top");
  const error = document.getElementById("error");
  const version = document.getElementById("answer-version");
  let drawing = false;

  const clear = () => {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    top.innerHTML = "";
    error.textContent = "";
  };
  const point = (e) => {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
  };
  pad.addEventListener("pointerdown", (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    ctx.beginPath();
    ctx.moveTo(...point(e));
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    ctx.lineWidth = 18;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#000";
    ctx.lineTo(...point(e));
    ctx.stroke();
  });
  const stop = () => { drawing = false; };
  pad.addEventListener("pointerup", stop);
  pad.addEventListener("pointercancel", stop);

  const send = async (blob) => {
    error.textContent = "";
    const form = new FormData();
    form.append("pfile", blob, "character.png");
    const response = await gazerFetch("/guessjapanesecharacter?top_k=3", { method: "POST", body: form });
    const body = await response.json();
    if (!response.ok) {
      top.innerHTML = "";
      error.textContent = body.detail || "the request failed";
      return;
    }
    top.innerHTML = "";
    for (const c of body.top) {
      const li = document.createElement("li");
      li.textContent = `${c.label} (${(c.prob * 100).toFixed(1)}%)`;
      top.appendChild(li);
    }
    version.textContent = `answered by model version ${body.model_version}`;
    const box = document.getElementById("feedback");
    const labels = box.dataset.labels ? box.dataset.labels.split("\n") : null;
    gazer.labelFeedback(box, body.request_id, { labels, prompt: "Wrong, it was" });
  };
  document.getElementById("clear").addEventListener("click", clear);
  document.getElementById("guess").addEventListener("click", () => pad.toBlob(send, "image/png"));
  document.getElementById("upload").addEventListener("change", (e) => {
    if (e.target.files.length) send(e.target.files[0]);
  });
  clear();
})();
