"""Reading and cleaning a paper's pages, and cutting them into passages."""

from __future__ import annotations

import pytest

from gazer.apps.papers.passages import MAX_WORDS, split_passages
from gazer.apps.papers.pdf import InvalidPaper, RawPage, check_pdf, read_pages
from gazer.apps.papers.text import clean, join_hyphen, normalise
from tests.apps.papers.factory import text_pdf

LIMITS = {"max_bytes": 10_000_000, "max_pages": 50}


def _document(data: bytes | None = None):  # type: ignore[no-untyped-def]
    return clean(list(read_pages(data or text_pdf())))


def test_running_heads_and_page_numbers_are_removed_and_pages_kept() -> None:
    doc = _document()
    assert "Test Paper" not in doc.text  # the running head of pages 2 and 3
    assert doc.pages == 3
    start = doc.text.index("The quadratic spectral kernel")
    assert doc.page_of(start) == 2
    assert doc.page_of(doc.text.index("All computations")) == 3
    assert not any(line.strip() in {"1", "2", "3"} for line in doc.text.splitlines())


def test_words_hyphenated_at_a_line_end_are_joined() -> None:
    doc = _document()
    assert "default of the function kernHAC, because it is optimal" in doc.text
    assert "be- cause" not in doc.text and "be-cause" not in doc.text


def test_a_real_compound_keeps_its_hyphen() -> None:
    vocabulary = {"data", "driven", "regular"}
    assert join_hyphen("a data", "driven way", vocabulary) == "a data-driven way"
    assert join_hyphen("regu", "lar series", vocabulary) == "regular series"


def test_ligatures_and_control_code_points_are_normalised() -> None:
    assert normalise("signi\x1ccance of the \ufb01rst e\ufb00ect\x07") == \
        "significance of the first effect"


def test_sections_title_authors_and_references_are_found() -> None:
    doc = _document()
    titles = [s.title for s in doc.sections]
    assert titles[:2] == ["Front matter", "Abstract"]
    assert {"1. Introduction", "2. Kernels", "3. Bandwidth selection", "4. Computation"} <= \
        set(titles)
    assert doc.title == "Kernels and Bandwidths for Covariance Estimation"
    assert doc.authors == ["Ada Lovelace", "Charles Babbage"]
    assert "Econometrica" in doc.references and "Econometrica" not in doc.text
    assert doc.section_of(doc.text.index("Prewhitening")) == "3. Bandwidth selection"


def test_passages_are_whole_sentences_that_know_their_page_and_section() -> None:
    doc = _document()
    passages = split_passages("p1", doc)
    assert passages and all(len(p.text.split()) <= MAX_WORDS for p in passages)
    kernel = next(p for p in passages if "quadratic spectral" in p.text)
    assert kernel.page == 2 and kernel.section == "2. Kernels"
    assert kernel.text.endswith(".")
    assert doc.text[kernel.start:kernel.end].split() == kernel.text.split()


def test_a_long_paragraph_is_cut_into_overlapping_windows_under_the_word_limit() -> None:
    sentences = [f"Sentence number {i} talks about topic {i} in some detail here." for i in
                 range(60)]
    doc = clean([RawPage(1, "Title of it\n1. Introduction\n" + " ".join(sentences))])
    passages = split_passages("p", doc)
    assert len(passages) > 3
    assert all(len(p.text.split()) <= MAX_WORDS for p in passages)
    # one sentence of overlap between neighbours: nothing straddling two is lost
    assert passages[0].text.split(". ")[-1] in passages[1].text


@pytest.mark.parametrize(("data", "expected"), [
    (b"hello, not a pdf", "expected a PDF file"),
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "could not be read"),
])
def test_what_is_not_a_readable_pdf_is_refused_with_what_was_expected(
        data: bytes, expected: str) -> None:
    with pytest.raises(InvalidPaper, match=expected):
        check_pdf(data, **LIMITS)


def test_size_and_page_limits_say_the_limit_and_what_was_got() -> None:
    data = text_pdf()
    with pytest.raises(InvalidPaper, match=r"at most 2 pages; got 3"):
        check_pdf(data, max_bytes=10_000_000, max_pages=2)
    with pytest.raises(InvalidPaper, match=rf"at most 100 bytes; got {len(data)}"):
        check_pdf(data, max_bytes=100, max_pages=50)
    assert check_pdf(data, **LIMITS) == 3


def test_an_encrypted_pdf_is_refused() -> None:
    import io

    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(text_pdf()))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(InvalidPaper, match="encrypted"):
        check_pdf(out.getvalue(), **LIMITS)
