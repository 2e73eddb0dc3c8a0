"""Reading a PDF's pages: text from the text layer (pypdfium2), OCR where a page has none.

pypdfium2 (PDFium, Chrome's PDF engine) was chosen over pypdf and pdfminer.six on the
evaluation papers (``benchmarks/papers.py`` measures all three): it recovers the most words
of the papers' LaTeX sources (97.0% against 95.4% and 95.3%), 12-21x faster, and marks
end-of-line hyphens as soft hyphens (``U+FFFE``), so ``text.py`` can tell "regu-lar" from
"data-driven".

Pages are read one at a time and closed, so a 500-page PDF needs the memory of one page. A
page whose text layer holds no words is rendered at 300 dpi and read by Tesseract (Debian's
``tesseract-ocr``).
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess  # nosec B404 # Tesseract is run with a fixed argv and no shell
from collections.abc import Callable, Iterator
from typing import Any

from gazer.errors import InvalidInput

MIN_TEXT_CHARS = 20  # fewer characters than this on a page: read it with OCR
OCR_DPI = 300


class InvalidPaper(InvalidInput):
    """The upload is not a readable PDF within the limits (not a PDF, encrypted, corrupt,
    no pages, too large or too long)."""


@dataclasses.dataclass(frozen=True)
class RawPage:
    """One page's text as the PDF (or OCR) gives it; ``number`` counts from 1."""

    number: int
    text: str
    ocr: bool = False


Progress = Callable[[int, int, str], None]  # (pages done, pages in all, what is happening)


def check_pdf(data: bytes, *, max_bytes: int, max_pages: int) -> int:
    """The page count of ``data``, or ``InvalidPaper`` saying what was expected and got."""
    if len(data) > max_bytes:
        raise InvalidPaper(f"the PDF must be at most {max_bytes} bytes; got {len(data)}")
    if not data.lstrip()[:1024].startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        head = data[:16].decode("latin-1").encode("unicode_escape").decode()
        raise InvalidPaper(f"expected a PDF file (starting with %PDF-); got {head!r}")
    with _opened(data) as document:
        pages = len(document)
    if pages == 0:
        raise InvalidPaper("the PDF has no pages")
    if pages > max_pages:
        raise InvalidPaper(f"the PDF must have at most {max_pages} pages; got {pages}")
    return pages


class _opened:
    """A PDFium document over ``data``, closed on exit; PDFium's errors become InvalidPaper."""

    def __init__(self, data: bytes) -> None:
        import pypdfium2 as pdfium

        try:
            self.document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            text = str(exc)
            if "password" in text.lower():
                raise InvalidPaper("the PDF is encrypted (password-protected); upload a copy "
                                   "without a password") from exc
            raise InvalidPaper(f"the PDF could not be read (corrupt or truncated): {text}"
                               ) from exc

    def __enter__(self) -> Any:
        return self.document

    def __exit__(self, *_exc: object) -> None:
        self.document.close()


def read_pages(data: bytes, *, progress: Progress | None = None, ocr_language: str = "eng",
               ocr: bool = True) -> Iterator[RawPage]:
    """Each page's text, in order, OCR-ing pages without a text layer."""
    with _opened(data) as document:
        total = len(document)
        for index in range(total):
            page = document[index]
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_range()
                textpage.close()
                scanned = len(text.strip()) < MIN_TEXT_CHARS and ocr
                if scanned:
                    text = ocr_page(page, ocr_language)
            finally:
                page.close()
            if progress is not None:
                progress(index + 1, total, "ocr" if scanned else "text")
            yield RawPage(index + 1, text, scanned)


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_page(page: object, language: str = "eng") -> str:
    """The text Tesseract reads on one rendered page."""
    if not tesseract_available():
        raise InvalidPaper("this PDF has pages without a text layer, and OCR needs Tesseract: "
                           "apt-get install tesseract-ocr")
    image = page.render(scale=OCR_DPI / 72).to_pil()  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    image.convert("L").save(buffer, format="PNG")
    # one OpenMP thread: on 2 cores Tesseract's own threads make it 8x slower (2.3 s a page
    # against 18 s, measured in benchmarks/papers.py)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(  # nosec B603 B607 # fixed argv, no shell; Debian's tesseract
        ["tesseract", "stdin", "stdout", "-l", language, "--psm", "3"],
        input=buffer.getvalue(), capture_output=True, timeout=300, check=False, env=env)
    if done.returncode != 0:
        raise InvalidPaper(f"OCR failed on a page: {done.stderr.decode(errors='replace')[-300:]}")
    return done.stdout.decode("utf-8", errors="replace")
