"""Corpus plug-ins: help-page extraction, the Catalan filter, WikiText files, ca-wiki."""

from __future__ import annotations

from pathlib import Path

import pytest

from gazer.apps.wordpredict.corpus import (
    build_help_corpus,
    extract_page,
    keep_paragraph,
    load_corpus,
    page_split,
    tokenize,
)
from gazer.errors import InvalidInput, NotFound

CATALAN = [
    "Aquesta ordre obre un diàleg on podeu definir les propietats del document actual.",
    "Feu clic a la pestanya Opcions per a canviar la configuració de la impressora.",
    "Seleccioneu les cel·les que voleu copiar i arrossegueu-les al full de càlcul nou.",
    "El LibreOffice desa automàticament una còpia de seguretat cada deu minuts.",
]
ENGLISH = "Use the shortcut keys to open the dialog and change the settings of the printer."


def page(title: str, paragraphs: list[str], extra: str = "") -> str:
    body = "".join(f'<p class="paragraph" dir="auto">{p}</p>' for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="ca"><head><title>{title}</title>
<script>var x = "no script text";</script></head><body>
<header><p>Ajuda del LibreOffice 7.4 capçalera de navegació repetida</p></header>
<div id="DisplayArea"><h1>{title}</h1>{body}{extra}</div></body></html>"""


def test_a_page_gives_its_title_and_paragraphs_without_scripts_or_navigation() -> None:
    html = page("Barra de cerca", CATALAN[:2],
                "<ul><li>Un element de llista amb prou paraules per a quedar-se</li></ul>"
                "<pre>codi font que no és prosa</pre>")
    title, paragraphs = extract_page(html)
    assert title == "Barra de cerca"
    assert paragraphs == ["Barra de cerca", *CATALAN[:2],
                          "Un element de llista amb prou paraules per a quedar-se"]


def test_labels_and_navigation_lines_are_boilerplate() -> None:
    assert keep_paragraph(CATALAN[0])
    assert not keep_paragraph("Barra de cerca")  # a heading, too short
    assert not keep_paragraph("Consulteu també les funcions de text del Calc")
    assert not keep_paragraph("12 34 56 78 90 11")  # numbers, not prose


def test_wikitext_tokens_keep_elisions_and_split_marks() -> None:
    assert tokenize("L'API de l’Access2Base, col·lecció.") == [
        "L'", "API", "de", "l'", "Access2Base", ",", "col", "·", "lecció", "."]


def test_help_pages_become_catalan_wikitext_split_by_page(tmp_path: Path) -> None:
    root = tmp_path / "help" / "text"
    root.mkdir(parents=True)
    for i in range(30):
        sub = root / ("swriter" if i % 2 else "scalc")
        sub.mkdir(exist_ok=True)
        paragraphs = [f"{CATALAN[i % 4][:-1]} a la pàgina {i}.", ENGLISH, CATALAN[0]]
        (sub / f"page{i}.html").write_text(page(f"Pàgina {i}", paragraphs), encoding="utf-8")
    corpus = build_help_corpus(tmp_path / "help", tmp_path / "out", source="test pages")
    stats = corpus.stats
    assert stats["html_pages"] == 30
    assert stats["not_catalan"] == 1  # the English paragraph, once; its repeats are duplicates
    assert stats["duplicates"] == 2 * 29  # ENGLISH and CATALAN[0] repeat on every page
    assert sum(stats[f"{s}.pages"] for s in ("train", "valid", "test")) == 30
    text = "\n".join(corpus.lines("train"))
    assert " = Pàgina" in text and "shortcut" not in text
    assert " ." in text  # punctuation is its own token, as in WikiText
    # each page lands in the split its path hashes to
    for i in (0, 1, 2):
        rel = f"text/{'swriter' if i % 2 else 'scalc'}/page{i}.html"
        assert f"pàgina {i} ." in "\n".join(corpus.lines(page_split(rel)))


def test_ca_wiki_reads_the_reference_files_and_counts_them(tmp_path: Path) -> None:
    for split in ("train", "valid", "test"):
        (tmp_path / f"ca.wiki.{split}.tokens").write_text(
            "\n = Barcelona = \n\n Barcelona és una ciutat . \n\n = = Història = = \n\n"
            " La ciutat té una llarga història . \n", encoding="utf-8")
    corpus = load_corpus("ca-wiki", folder=str(tmp_path))
    assert corpus.stats["train.pages"] == 1 and corpus.stats["train.paragraphs"] == 2
    assert corpus.stats["train.tokens"] == 5 + 7
    assert len(corpus.fingerprint()) == 64


def test_ca_wiki_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "ca.wiki.train.tokens").write_text(" a b c \n")
    with pytest.raises(NotFound, match="missing: ca.wiki.valid.tokens, ca.wiki.test.tokens"):
        load_corpus("ca-wiki", folder=str(tmp_path))
    with pytest.raises(InvalidInput, match="needs --param folder=PATH"):
        load_corpus("ca-wiki")
    known = "ca-help, ca-help[+]landed, ca-wiki, ca-wiki[+]landed"
    with pytest.raises(InvalidInput, match=f"corpus must be one of {known}; got 'x'"):
        load_corpus("x")
