"""The papers app's figures: extraction, indexing, retrieval, abstention, latency, OCR.

    python benchmarks/papers.py            # everything but the 500-page PDF
    python benchmarks/papers.py --big      # also index a 500+-page PDF and report peak memory

Papers: the six R vignettes of ``gazer.apps.papers.corpus`` (Debian packages, fetched with
``apt-get download`` when not installed). Extraction is scored against each paper's Sweave
source (``.Rnw``): the share of its prose words (LaTeX commands and R code chunks removed)
that the extracted text holds, counted as a bag of words. Retrieval is measured on the
evaluation set with the reranker trained leave-one-paper-out (trained on the other five
papers' questions, tested on this one's), so no figure comes from a question it trained on.
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("GAZER_TRACKING__CO2", "false")

from gazer.apps.papers.corpus import PAPERS, paper_files  # noqa: E402
from gazer.apps.papers.evaluation import evaluate, load_evalset, training_rows  # noqa: E402
from gazer.apps.papers.library import Library  # noqa: E402
from gazer.apps.papers.pdf import read_pages  # noqa: E402
from gazer.apps.papers.reranker import PassageReranker  # noqa: E402
from gazer.apps.papers.store import PaperStore, _metadata  # noqa: E402
from gazer.apps.papers.text import clean  # noqa: E402
from gazer.db import Database  # noqa: E402
from gazer.ml.embeddings import encode  # noqa: E402
from gazer.settings import PapersSettings  # noqa: E402
from gazer.storage.local import LocalStorage  # noqa: E402

CACHE = Path(os.environ.get("GAZER_HOME", ".gazer")).resolve() / "cache" / "papers"


def words(text: str) -> collections.Counter[str]:
    return collections.Counter(re.findall(r"[a-z]{3,}", text.lower()))


def rnw_prose(path: Path) -> str:
    """A Sweave file's prose: code chunks, comments, math and LaTeX commands removed."""
    text = path.read_text(errors="replace")
    text = re.sub(r"<<.*?>>=.*?^@", " ", text, flags=re.DOTALL | re.MULTILINE)
    text = re.sub(r"(?<!\\)%.*", " ", text)
    text = re.sub(r"\\begin\{(equation|eqnarray|align|verbatim|Code|Sinput|Soutput|figure|"
                  r"table)\*?\}.*?\\end\{\1\*?\}", " ", text, flags=re.DOTALL)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\\(cite[pt]?|ref|label|eqref|url|bibliography\w*|input|include\w*)"
                  r"(\[[^]]*\])?\{[^}]*\}", " ", text)
    text = re.sub(r"\\[a-zA-Z]+\*?", " ", text)
    body = text.split("begin{document}")[-1]
    return body


def recall(extracted: str, reference: collections.Counter[str]) -> float:
    have = words(extracted)
    return sum(min(n, have[w]) for w, n in reference.items()) / max(sum(reference.values()), 1)


def extractors() -> dict[str, object]:
    def pdfium(data: bytes) -> str:
        return "\n".join(p.text for p in read_pages(data, ocr=False))

    def pypdf_(data: bytes) -> str:
        import pypdf

        return "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(data)).pages)

    def pdfminer_(data: bytes) -> str:
        from pdfminer.high_level import extract_text

        return str(extract_text(io.BytesIO(data)))

    return {"pypdfium2": pdfium, "pypdf": pypdf_, "pdfminer.six": pdfminer_}


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row)
              + " |")


def extraction(files: dict[str, tuple[Path, str]]) -> None:
    rows, totals = [], collections.defaultdict(list)
    for source in PAPERS:
        path, _ = files[source.name]
        data = path.read_bytes()
        reference = words(rnw_prose(source.rnw(path.parents[2])))
        row: list[object] = [source.name]
        for name, fn in extractors().items():
            started = time.perf_counter()
            text = fn(data)  # type: ignore[operator]
            seconds = time.perf_counter() - started
            r = recall(text, reference)
            totals[name].append((r, seconds))
            row += [r, seconds]
        document = clean(list(read_pages(data)), _metadata(data))
        r = recall(document.text + document.references, reference)
        totals["cleaned"].append((r, 0.0))
        row.append(r)
        rows.append(row)
    rows.append(["**mean**", *[v for name in ("pypdfium2", "pypdf", "pdfminer.six") for v in (
        statistics.mean(r for r, _ in totals[name]), statistics.mean(s for _, s in totals[name]))],
        statistics.mean(r for r, _ in totals["cleaned"])])
    table("Extraction: share of the Sweave source's prose words recovered, and seconds",
          ["paper", "pypdfium2", "s", "pypdf", "s", "pdfminer.six", "s", "gazer cleaned"], rows)


def build(files: dict[str, tuple[Path, str]], folder: Path) -> tuple[Library, dict[str, str],
                                                                      list[list[object]]]:
    db = Database(f"sqlite:///{folder / 'papers.db'}")
    store = PaperStore(db, LocalStorage(folder / "storage"), PapersSettings(), encode)
    encode(["warm the model up"])
    ids, rows = {}, []
    for name, (path, _) in sorted(files.items()):
        started = time.perf_counter()
        paper, _ = store.add(path.read_bytes(), "url", name)
        seconds = time.perf_counter() - started
        ids[name] = paper.id
        rows.append([name, paper.pages, paper.passages, paper.words, seconds])
    return Library(store), ids, rows


def retrieval(library: Library, ids: dict[str, str]) -> PassageReranker:
    questions = load_evalset()
    by_paper = collections.defaultdict(list)
    for q in questions:
        by_paper[q["paper"]].append(q)
    parts = []
    for held_out, test in sorted(by_paper.items()):
        train = [q for q in questions if q["paper"] != held_out]
        model = _fit(library, train, ids)
        result = evaluate(library, test, ids, lambda x, m=model: (m.score(x), m.threshold))
        parts.append((result, test))
    keys = [k for k in parts[0][0] if "." in k]
    answered = sum(r["questions"] for r, _ in parts)
    unanswerable = sum(r["unanswerable_questions"] for r, _ in parts)
    pooled = {}
    for k in keys:
        weight = "unanswerable_questions" if k == "abstention.unanswerable" else "questions"
        total = answered if weight == "questions" else unanswerable
        pooled[k] = sum(r[k] * r[weight] for r, _ in parts) / max(total, 1)
    rows = [[m, pooled[f"{m}.recall_at_1"], pooled[f"{m}.recall_at_5"], pooled[f"{m}.mrr"]]
            for m in ("bm25", "cosine", "hybrid", "reranked")]
    table(f"Retrieval over {int(answered)} answerable questions on {len(parts)} papers "
          f"(reranker: leave one paper out)", ["method", "recall@1", "recall@5", "MRR"], rows)
    table("Abstention", ["figure", "value"], [
        [f"unanswerable questions answered 'answerable: false' (of {int(unanswerable)})",
         pooled["abstention.unanswerable"]],
        ["answerable questions answered", pooled["abstention.answerable_answered"]]])
    return _fit(library, questions, ids)


def _fit(library: Library, questions: list[dict[str, object]], ids: dict[str, str]
         ) -> PassageReranker:
    x, y, spans = training_rows(library, questions, ids)  # type: ignore[arg-type]
    model = PassageReranker().fit(x, y)
    scores = model.score(x)
    best = np.asarray([scores[a:b].max() if b > a else 0.0 for a, b, _ in spans])
    model.fit_threshold(best, np.asarray([ok for _, _, ok in spans]))
    return model


def latency(folder: Path, ids: dict[str, str], model: PassageReranker) -> None:
    """``/ask`` through the server (TestClient, reranker served) p50 and p95."""
    from fastapi.testclient import TestClient

    from gazer.registry.memory import MemoryRegistry
    from gazer.registry.promotion import promote
    from gazer.serving.app import create_app
    from gazer.settings import EndpointSettings, Settings

    registry = MemoryRegistry()
    version = registry.register("papers-reranker", model,
                                input_example=np.zeros((2, len(model.feature_names))))
    promote(registry, "papers-reranker", version.version)
    settings = Settings(home=folder, storage={"uri": f"file://{folder / 'storage'}"},  # type: ignore[arg-type]
                        runs={"url": f"sqlite:///{folder / 'papers.db'}"},
                        tracking={"co2": False})
    app = create_app(settings, registry=registry,
                     endpoints=[EndpointSettings(name="papers-reranker")])
    questions = [q for q in load_evalset()][:100]
    with TestClient(app) as client:
        for q in questions[:5]:  # warm-up: the index loads on the first question
            client.post(f"/api/papers/{ids[q['paper']]}/ask", json={"question": q["question"]})
        times = []
        for q in questions:
            started = time.perf_counter()
            r = client.post(f"/api/papers/{ids[q['paper']]}/ask",
                            json={"question": q["question"], "top_k": 3})
            times.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200, r.text
        all_times = []
        for q in questions[:30]:
            started = time.perf_counter()
            client.post("/api/papers/ask", json={"question": q["question"], "top_k": 3})
            all_times.append((time.perf_counter() - started) * 1000)
    p = np.percentile
    table("/ask latency through the server (ms, 2 cores)", ["route", "n", "p50", "p95"], [
        ["POST /api/papers/{id}/ask", len(times), float(p(times, 50)), float(p(times, 95))],
        ["POST /api/papers/ask (all papers)", len(all_times), float(p(all_times, 50)),
         float(p(all_times, 95))]])


def ocr(files: dict[str, tuple[Path, str]]) -> None:
    """Pages of a real paper rendered to images (no text layer), read back by Tesseract."""
    import pypdfium2 as pdfium

    path, _ = files["zoo"]
    document = pdfium.PdfDocument(path.read_bytes())
    images = [document[i].render(scale=150 / 72).to_pil().convert("RGB") for i in range(3)]
    truth = " ".join(document[i].get_textpage().get_text_range() for i in range(3))
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=150)
    started = time.perf_counter()
    pages = list(read_pages(out.getvalue()))
    seconds = time.perf_counter() - started
    assert all(p.ocr for p in pages)
    r = recall(" ".join(p.text for p in pages), words(truth))
    table("OCR (Tesseract 5, 300 dpi render, zoo pages 1-3 scanned at 150 dpi)",
          ["pages", "seconds per page", "words recovered vs the text layer"],
          [[len(pages), seconds / len(pages), r]])


def big(files: dict[str, tuple[Path, str]], folder: Path) -> None:
    """A 500+-page PDF (strucplot, 11 times) indexed in a child process: peak memory."""
    import pypdf

    writer = pypdf.PdfWriter()
    data = files["strucplot"][0].read_bytes()
    for copy in range(11):
        reader = pypdf.PdfReader(io.BytesIO(data))
        for page in reader.pages:
            writer.add_page(page)
        writer.add_metadata({"/Title": f"strucplot x11 ({copy})"})
    path = folder / "big.pdf"
    with path.open("wb") as f:
        writer.write(f)
    code = ("import resource,sys,time;from pathlib import Path;"
            "from gazer.apps.papers.store import PaperStore;from gazer.db import Database;"
            "from gazer.ml.embeddings import encode;from gazer.settings import PapersSettings;"
            "from gazer.storage.local import LocalStorage;d=Path(sys.argv[1]);"
            "s=PaperStore(Database(f'sqlite:///{d}/big.db'),LocalStorage(d/'bigstore'),"
            "PapersSettings(),encode);encode(['x']);"
            "base=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;t=time.perf_counter();"
            "p,_=s.add((d/'big.pdf').read_bytes(),'upload','big.pdf',progress=lambda a,b,w:"
            " print(f'  page {a}/{b}',flush=True) if a%100==0 else None);"
            "print('RESULT',p.pages,p.passages,time.perf_counter()-t,base,"
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                          text=True, check=True)
    print(done.stdout.strip())
    _, pages, passages, seconds, base, peak = done.stdout.strip().splitlines()[-1].split()
    table("A 500+-page PDF", ["pages", "passages", "seconds", "peak RSS MB (after the model "
                                                               "loaded)", "growth MB"],
          [[pages, passages, float(seconds), int(peak) / 1024,
            (int(peak) - int(base)) / 1024]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", action="store_true")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, max RSS so far "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    files = paper_files(CACHE)
    for name, (path, label) in files.items():
        print(f"  {name}: {label}, {path}")
    extraction(files)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        library, ids, rows = build(files, folder)
        table("Indexing (extract, clean, passages, embed, store), seconds on 2 cores",
              ["paper", "pages", "passages", "words", "seconds"], rows)
        model = retrieval(library, ids)
        latency(folder, ids, model)
        ocr(files)
        if args.big:
            big(files, folder)


if __name__ == "__main__":
    main()
