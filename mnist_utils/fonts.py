"""Digits 0-9 typeset in the fonts that ship with Matplotlib: a small "real world" test set.

They are prepared the way MNIST's handwritten digits were: white on black, anti-aliased,
scaled to fit a 20x20 box (keeping their proportions), then moved so that their centre of
mass sits at the centre of the 28x28 image. Only Matplotlib is needed (no PIL, no system
fonts), so every machine gets the same digits.
"""
import os

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

FONT_FILES = [  # regular, bold, italic and bold italic; a few Computer Modern (TeX) faces
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf", "cmtt10.ttf",
]


def _glyphs():
    """The outline of each digit in each font found, scaled to fit a 20x20 box, centred at 0."""
    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    fonts = [os.path.join(folder, name) for name in FONT_FILES]
    glyphs = []
    for font in filter(os.path.exists, fonts):
        for digit in range(10):
            path = TextPath((0, 0), str(digit), size=1, prop=FontProperties(fname=font))
            box = path.get_extents()
            scale = 20 / max(box.width, box.height)
            glyphs.append(Affine2D().translate(-box.x0 - box.width / 2, -box.y0 - box.height / 2)
                          .scale(scale).transform_path(path))
    return glyphs


def _render(glyphs, shifts):
    """Paint glyph i, moved by shifts[i] = (rows, columns), into 28x28 image i (one Agg pass)."""
    n = len(glyphs)
    fig = Figure(figsize=(1, n), dpi=28, facecolor="black")   # 28 pixels per inch
    for i, (glyph, (down, right)) in enumerate(zip(glyphs, shifts)):
        # Figure pixels count up from the bottom; image rows count down from the top.
        centre = Affine2D().translate(14 + right, (n - i) * 28 - 14 - down)
        fig.add_artist(PathPatch(glyph, transform=centre, facecolor="white", edgecolor="none"))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[:, :, 0].astype(np.float32) / 255
    return pixels.reshape(n, 28, 28)


def centre_of_mass(image):
    """(row, column) of an image's centre of mass: of its ink (bright on dark)."""
    image = np.asarray(image)
    mass = image.sum()
    return ((image.sum(axis=1) * np.arange(image.shape[0])).sum() / mass,
            (image.sum(axis=0) * np.arange(image.shape[1])).sum() / mass)


def centring_shift(image, field=28):
    """The whole pixels (rows, columns) that move the image's centre of mass to the centre of a
    `field`x`field` image, as MNIST placed its digits (the image's top left corner at 0, 0)."""
    row, column = centre_of_mass(image)
    return round(field / 2 - row), round(field / 2 - column)


def font_digits():
    """Digits 0-9 in each of the 21 fonts of FONT_FILES (210 digits), prepared like MNIST.

    Returns (images, labels): images float32 of shape (n, 28, 28, 1) in [0, 1], white digits
    on black; labels int64 of shape (n,), 0 to 9 for each font in turn (fonts missing from
    this Matplotlib are left out).
    """
    glyphs = _glyphs()
    first = _render(glyphs, np.zeros((len(glyphs), 2)))
    # MNIST moved each digit so that its centre of mass is at row 14, column 14: we do the
    # same, by whole pixels, and by 4 at most so that the 20x20 box stays inside the image.
    images = _render(glyphs, np.clip([centring_shift(image) for image in first], -4, 4))
    labels = np.tile(np.arange(10), len(glyphs) // 10)
    return images[..., np.newaxis], labels
