"""``gazer papers add|list|show|ask|delete``: the paper library from the shell."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="The papers app's library: add, list, show, ask, delete.",
                  no_args_is_help=True)


@contextlib.contextmanager
def _store() -> Iterator[Any]:
    from gazer.apps.papers.store import PaperStore
    from gazer.ml.embeddings import encode
    from gazer.services import Services
    from gazer.settings import get_settings

    settings = get_settings()
    services = Services(settings)
    try:
        yield PaperStore(services.db, services.storage, settings.papers, encode), services
    finally:
        services.close()


def _print(line: str) -> None:
    typer.echo(line)


@app.command("add")
def add(
    path: Annotated[Path | None, typer.Argument(help="A PDF file.")] = None,
    arxiv: Annotated[str | None, typer.Option(help="An arXiv id or URL instead.")] = None,
    url: Annotated[str | None, typer.Option(help="A PDF's URL instead.")] = None,
) -> None:
    """Index a PDF (OCR for scanned pages), with a progress bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from gazer.apps.papers.arxiv import ArxivClient, parse_id
    from gazer.errors import InvalidInput
    from gazer.settings import get_settings

    if sum(x is not None for x in (path, arxiv, url)) != 1:
        raise InvalidInput("give exactly one of PATH, --arxiv or --url")
    client = ArxivClient(get_settings().papers)
    if path is not None:
        if not path.is_file():
            raise InvalidInput(f"{path} is not a file: give the path of a PDF")
        data, source, ref = path.read_bytes(), "upload", path.name
    elif arxiv is not None:
        ref = parse_id(arxiv)
        data, source = client.pdf(ref), "arxiv"
    else:
        assert url is not None
        data, source, ref = client.fetch(url), "url", url
    with _store() as (store, _services), Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                                                                      "{task.total} pages"),
            TimeRemainingColumn()) as bar:
        task = bar.add_task(f"indexing {ref}", total=None)
        paper, new = store.add(data, source, ref, progress=lambda done, total, what:
                               bar.update(task, completed=done, total=total,
                                          description=f"indexing {ref} ({what})"))
    _print(f"{'indexed' if new else 'already indexed'}: {paper.id}  {paper.title}  "
           f"({paper.pages} pages, {paper.passages} passages, {paper.ocr_pages} by OCR)")


@app.command("list")
def list_papers() -> None:
    """Every indexed paper, newest first."""
    with _store() as (store, _services):
        papers = store.papers()
    if not papers:
        _print("no papers yet: gazer papers add FILE.pdf (or gazer run papers)")
    for p in papers:
        _print(f"{p.id}  {p.pages:>4} pages  {p.source:<7} {p.title[:70]}")


@app.command("show")
def show(paper_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A paper's record: sections, objects, questions asked, and their ratings."""
    from gazer.monitoring.feedback import FeedbackStore

    with _store() as (store, services):
        paper = store.get(paper_id)
        document = store.document(paper_id)
        turns = store.turns(paper_id=paper_id)
        ratings = FeedbackStore(services.db)
        for turn in turns:
            for answer in turn["answers"]:
                answer.pop("features", None)
                given = ratings.get(answer["request_id"])
                answer["feedback"] = None if given is None else {
                    "rating": given.rating, "correct": given.correct, "comment": given.comment}
    record = {**paper.to_dict(), "sections": [s.title for s in document.sections],
              "references_words": len(document.references.split()), "turns": turns}
    if as_json:
        _print(json.dumps(record, indent=2))
        return
    _print(f"{paper.title}\n{', '.join(paper.authors)}\n{paper.source}: {paper.source_ref}\n"
           f"sha256 {paper.content_hash}\n{paper.pages} pages, {paper.words} words, "
           f"{paper.passages} passages, {paper.ocr_pages} pages by OCR")
    _print("sections: " + "; ".join(record["sections"]))
    for what, key in paper.objects.items():
        _print(f"  {what:<10} {key}")
    for turn in turns:
        rated = [a["feedback"] for a in turn["answers"] if a["feedback"]]
        _print(f"Q: {turn['question']} → {len(turn['answers'])} answer(s)"
               f"{'' if turn['answerable'] else ' (not answerable)'}"
               + (f", rated {rated}" if rated else ""))


@app.command("ask")
def ask(question: str, paper: Annotated[str | None, typer.Option(
        help="A paper id (default: every paper).")] = None,
        top_k: Annotated[int, typer.Option(min=1, max=20)] = 3) -> None:
    """Ask a question with the registered reranker's champion (if trained)."""
    from gazer.apps.papers.library import Library

    with _store() as (store, services):
        score = None
        if services.registry.find_alias("papers-reranker", "champion") is not None:
            model = services.registry.load_model("papers-reranker", "champion")
            score = lambda x: (model.score(x), model.threshold)  # noqa: E731
        result = Library(store).ask(question, paper_id=paper, top_k=top_k, score=score)
    if not result.answerable:
        _print("no passage answers that")
    for a in result.answers:
        _print(f"[{a.score:.3f}] {a.paper_id} p.{a.page} {a.section}\n    {a.text}")


@app.command("delete")
def delete(paper_id: str) -> None:
    """Delete a paper: its record, questions and every object in storage."""
    with _store() as (store, _services):
        keys = store.delete(paper_id)
    _print(f"deleted {paper_id} and {len(keys)} objects")
