"""Draw a digit and watch the model read it: an anywidget for Jupyter, Colab and VS Code.

`DigitPad(model)` shows a canvas to draw on with the mouse or a finger, the drawing as the
model sees it (28x28, prepared like MNIST), and the model's ten probabilities as bars, which
update while you draw. The drawing is turned into an MNIST-like digit here, in NumPy
(`prepare_digit`), and the browser side (static/draw.js) only draws and sends pixels.
"""
import base64
import sys
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from mnist_utils.data import as_images
from mnist_utils.fonts import centring_shift

__all__ = ["DigitPad", "draw_digit", "prepare_digit"]

STATIC = Path(__file__).with_name("static")
CANVAS = 140   # the drawing's resolution in pixels (shown twice as large on screen)
BOX = 20       # MNIST fits each digit's ink into a 20x20 box ...
FIELD = 28     # ... and centres it by its centre of mass in a 28x28 field.


def _box_resample(size_in, size_out):
    """A (size_out, size_in) matrix averaging the input pixels each output pixel covers."""
    edges = np.linspace(0, size_in, size_out + 1)
    starts, ends = edges[:-1, None], edges[1:, None]
    pixels = np.arange(size_in)[None, :]
    overlap = np.clip(np.minimum(ends, pixels + 1) - np.maximum(starts, pixels), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def prepare_digit(image):
    """Turn a drawing into a digit as MNIST prepares them, for a model trained on MNIST.

    image: 2-D array, ink bright on a dark background, values 0..1 (or 0..255), any size.
    Returns a (28, 28) float32 array in 0..1: the ink's bounding box scaled to fit 20x20
    (aspect ratio kept), placed so that its centre of mass is at the centre of the 28x28
    field, white on black. A drawing without ink gives an all-black digit.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2 or min(image.shape) == 0:
        raise ValueError(f"prepare_digit needs one 2-D grayscale image, got shape {image.shape}")
    image = as_images(image, shape=None)
    digit = np.zeros((FIELD, FIELD), np.float32)
    rows, cols = np.nonzero(image.any(axis=1))[0], np.nonzero(image.any(axis=0))[0]
    if rows.size == 0:
        return digit
    ink = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = BOX / max(ink.shape)
    height, width = (max(1, round(side * scale)) for side in ink.shape)
    small = _box_resample(ink.shape[0], height) @ ink @ _box_resample(ink.shape[1], width).T
    small = np.clip(small, 0, 1)
    # Centre of mass of the small digit, moved to the field's centre (where MNIST has it).
    top, left = centring_shift(small, FIELD)
    # Paste, cutting off whatever would fall outside the field.
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + height, FIELD), min(left + width, FIELD)
    digit[r0:r1, c0:c1] = small[r0 - top:r1 - top, c0 - left:c1 - left]
    return digit


def _enable_colab_widgets():
    """Colab shows third-party widgets only after its custom widget manager is switched on."""
    if "google.colab" in sys.modules:
        from google.colab import output
        output.enable_custom_widget_manager()


class DigitPad(anywidget.AnyWidget):
    """Draw a digit; see it as the model sees it and the model's ten probabilities.

    model: a Keras model that takes images of shape (n, 28, 28, 1) in 0..1 and returns ten
    probabilities per image (every notebook's `model`). `digit` (28x28) and `probabilities`
    hold what the pad shows, for use in code: `pad.digit`, `pad.probabilities`.
    """

    _esm = STATIC / "draw.js"
    _css = STATIC / "draw.css"
    size = traitlets.Int(CANVAS).tag(sync=True)          # the canvas' side in pixels
    pixels = traitlets.Unicode("").tag(sync=True)         # base64 of size*size ink bytes
    preview = traitlets.List(traitlets.Float()).tag(sync=True)         # the 28x28 digit
    probabilities = traitlets.List(traitlets.Float()).tag(sync=True)   # ten, or none yet

    def __init__(self, model, **kwargs):
        if not callable(model):
            raise TypeError("DigitPad needs your trained Keras model, e.g. DigitPad(model)")
        _enable_colab_widgets()
        super().__init__(**kwargs)
        self.model = model

    @property
    def digit(self):
        """The drawing as the model sees it: a (28, 28) float32 array in 0..1."""
        if len(self.preview) != FIELD * FIELD:
            return np.zeros((FIELD, FIELD), np.float32)
        return np.asarray(self.preview, np.float32).reshape(FIELD, FIELD)

    @traitlets.observe("pixels")
    def _on_pixels(self, change):
        """The browser sent the drawing: prepare it like MNIST and ask the model."""
        raw = np.frombuffer(base64.b64decode(change["new"]), np.uint8) if change["new"] else None
        if raw is None or raw.size != self.size * self.size or not raw.any():
            self.preview, self.probabilities = [], []   # cleared (or nothing drawn yet)
            return
        digit = prepare_digit(raw.reshape(self.size, self.size))
        probabilities = np.asarray(self.model(digit[None, :, :, None], training=False))[0]
        self.preview = np.round(digit, 3).ravel().tolist()
        self.probabilities = [float(p) for p in probabilities]


def draw_digit(model):
    """A pad to draw digits on for `model`: end a notebook cell with `draw_digit(model)`."""
    return DigitPad(model)
