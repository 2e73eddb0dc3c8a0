"""PDFs for the papers tests, drawn with matplotlib (a real text layer, real fonts)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

HEAD = "Kernels and Bandwidths: A Test Paper"

PAGES = [
    ["Kernels and Bandwidths for Covariance Estimation", "Ada Lovelace", "Charles Babbage",
     "Abstract", "We describe how heteroskedasticity and autocorrelation consistent covariance",
     "matrices are estimated with kernel weights and an automatic bandwidth.",
     "1. Introduction", "Covariance estimators weight the autocovariances of the scores.",
     "The weights come from a kernel function, and the number of lags from the bandwidth."],
    ["2. Kernels", "The quadratic spectral kernel is the default of the function kernHAC, be-",
     "cause it is optimal in a class of kernels considered by Andrews in 1991.",
     "Other kernels are the truncated, Bartlett, Parzen and Tukey-Hanning kernels.",
     "3. Bandwidth selection", "The bandwidth is chosen automatically by plugging in an",
     "approximating autoregressive model of order one fitted to the scores.",
     "Prewhitening with a VAR(1) model is applied before the kernel is used."],
    ["4. Computation", "All computations are done in R with the sandwich package, whose",
     "functions return a covariance matrix that can be plugged into Wald tests.",
     "The run time is dominated by the estimation of the autocovariances.",
     "References", "Andrews DWK (1991). Heteroskedasticity and autocorrelation consistent",
     "covariance matrix estimation. Econometrica, 59, 817-858."],
]


def text_pdf(pages: list[list[str]] | None = None, header: str = HEAD) -> bytes:
    """A PDF with a running head and a page number on every page."""
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"CreationDate": None}) as pdf:
        for number, lines in enumerate(pages or PAGES, start=1):
            fig = plt.figure(figsize=(8.5, 11))
            fig.text(0.1, 0.95, f"{number} {header}" if number > 1 else "", fontsize=9)
            for i, line in enumerate(lines):
                fig.text(0.1, 0.9 - i * 0.025, line, fontsize=11)
            fig.text(0.5, 0.03, str(number), fontsize=9)
            pdf.savefig(fig)
            plt.close(fig)
    return buffer.getvalue()


def scanned_pdf(lines: list[str]) -> bytes:
    """A one-page PDF that is only a picture of text: no text layer."""
    from PIL import Image

    fig = plt.figure(figsize=(8.5, 11), dpi=150)
    for i, line in enumerate(lines):
        fig.text(0.1, 0.9 - i * 0.04, line, fontsize=16)
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=150)
    plt.close(fig)
    out = io.BytesIO()
    Image.open(image).convert("RGB").save(out, format="PDF", resolution=150)
    return out.getvalue()
