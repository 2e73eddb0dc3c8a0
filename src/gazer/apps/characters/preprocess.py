"""Turn an uploaded or drawn image into the model's input, the way the training data was made.

MNIST-style datasets hold light strokes on a dark background, the character scaled into a box
(20 of 28 pixels) and centred. A user's photo, scan or canvas drawing is usually dark ink on
light paper, any size, with margins. ``prepare_image`` converts to grayscale (transparent
pixels become paper), inverts dark-on-light input, crops to the ink, scales the ink into the
box keeping its aspect ratio, and centres it on the canvas.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np

from gazer.errors import InvalidInput, PayloadTooLarge

MAX_BYTES = 5 * 2**20
MAX_PIXELS = 40_000_000


@dataclasses.dataclass(frozen=True)
class ImageTransform:
    """How training images were framed: canvas size and the box the character fills."""

    height: int = 28
    width: int = 28
    box: int = 20  # the longer side of the character, in pixels

    @classmethod
    def for_shape(cls, height: int, width: int) -> ImageTransform:
        """MNIST framing for 28×28 data; edge-to-edge for small images such as 8×8 digits."""
        if (height, width) == (28, 28):
            return cls(28, 28, 20)
        return cls(height, width, min(height, width))


def decode_image(data: bytes, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Bytes of a PNG/JPEG/... as a grayscale float array, paper white (255)."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > max_bytes:
        raise PayloadTooLarge(f"image must be at most {max_bytes} bytes; got {len(data)}")
    if not data:
        raise InvalidInput("expected an image file (PNG, JPEG, ...); got an empty upload")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            img: Image.Image = opened
            if img.mode in ("RGBA", "LA", "P") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(paper, rgba)
            gray = img.convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"expected an image file (PNG, JPEG, ...); could not read it: {exc}") \
            from exc
    return np.asarray(gray, dtype=np.float32)


def prepare_image(data: bytes, transform: ImageTransform) -> np.ndarray:
    """An uploaded image as a (height, width) uint8 array framed like the training data."""
    gray = decode_image(data)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = 255.0 - gray if np.median(border) > 127 else gray  # strokes bright, paper dark
    ink = np.clip(ink - np.median(np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])),
                  0, None)
    if ink.max() < 32:
        raise InvalidInput("the image is empty: no strokes darker or lighter than its background")
    rows, cols = np.nonzero(ink > 0.25 * ink.max())
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return _frame(crop / crop.max() * 255.0, transform)


def _frame(crop: np.ndarray, t: ImageTransform) -> np.ndarray:
    from PIL import Image

    h, w = crop.shape
    scale = t.box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray(crop.astype(np.uint8)).resize((new_w, new_h),
                                                            Image.Resampling.LANCZOS)
    canvas = np.zeros((t.height, t.width), dtype=np.uint8)
    top, left = (t.height - new_h) // 2, (t.width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = np.asarray(resized)
    return canvas


def as_served(images: np.ndarray, transform: ImageTransform, limit: int = 2000,
              seed: int = 0) -> np.ndarray:
    """Up to ``limit`` of ``images`` as the serving path frames an upload of each (PNG, then
    ``prepare_image``): the reference a version's drift profile is made from, so that
    production inputs are compared with in-distribution inputs framed the same way."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(images), min(limit, len(images)), replace=False))
    out = []
    for i in chosen:
        buf = io.BytesIO()
        Image.fromarray(np.asarray(images[i], dtype=np.uint8)).save(buf, "PNG")
        try:
            out.append(prepare_image(buf.getvalue(), transform))
        except InvalidInput:  # an image with no strokes cannot be uploaded either
            continue
    return np.stack(out) if out else np.zeros((0, transform.height, transform.width), np.uint8)
