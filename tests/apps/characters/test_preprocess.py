"""Uploaded and drawn images become model input framed like the training data."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from gazer.apps.characters.preprocess import ImageTransform, prepare_image
from gazer.errors import InvalidInput, PayloadTooLarge

MNIST = ImageTransform.for_shape(28, 28)


def _png(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _drawn_canvas() -> bytes:
    """Like a browser canvas export: black strokes on a transparent background, off-centre."""
    img = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(40, 30), (40, 150)], fill=(0, 0, 0, 255), width=12)
    return _png(img)


def _scanned_page() -> bytes:
    """Like a scan or photo: grey paper with noise, dark ink, saved as JPEG."""
    rng = np.random.default_rng(0)
    paper = np.clip(rng.normal(205, 6, size=(400, 640)), 0, 255).astype(np.uint8)
    img = Image.fromarray(paper).convert("RGB")
    ImageDraw.Draw(img).rectangle([(400, 100), (520, 160)], fill=(35, 35, 40))
    return _png(img, "JPEG")


def _centre_of_mass(array: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(array.shape)
    total = array.sum()
    return float((rows * array).sum() / total), float((cols * array).sum() / total)


def test_a_drawn_stroke_becomes_a_centred_bright_bar_in_the_box() -> None:
    out = prepare_image(_drawn_canvas(), MNIST)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out[0].max() == 0 and out[:, 0].max() == 0  # dark background, margins kept
    rows, cols = np.nonzero(out > 128)
    assert rows.max() - rows.min() + 1 >= 18  # the long side fills the 20-pixel box
    assert cols.max() - cols.min() + 1 <= 4  # still a thin vertical bar
    cy, cx = _centre_of_mass(out.astype(float))
    assert abs(cy - 13.5) < 1.5 and abs(cx - 13.5) < 1.5


def test_a_scanned_page_is_inverted_cropped_and_keeps_its_aspect() -> None:
    out = prepare_image(_scanned_page(), MNIST)
    rows, cols = np.nonzero(out > 128)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert width == pytest.approx(20, abs=1) and height == pytest.approx(10, abs=2)
    assert out[0].max() < 40  # noisy paper became background


def test_light_on_dark_input_is_not_inverted() -> None:
    img = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(img).ellipse([(16, 16), (48, 48)], fill=255)
    out = prepare_image(_png(img), ImageTransform.for_shape(8, 8))
    assert out.shape == (8, 8) and out[3:5, 3:5].min() > 200 and out[0, 0] == 0


def test_non_images_empty_images_and_oversize_files_are_refused() -> None:
    with pytest.raises(InvalidInput, match="expected an image file"):
        prepare_image(b"this is text, not a picture", MNIST)
    with pytest.raises(InvalidInput, match="empty upload"):
        prepare_image(b"", MNIST)
    with pytest.raises(InvalidInput, match="the image is empty"):
        prepare_image(_png(Image.new("L", (50, 50), 255)), MNIST)
    with pytest.raises(PayloadTooLarge, match="at most"):
        prepare_image(b"\x89PNG" + b"\x00" * (6 * 2**20), MNIST)
