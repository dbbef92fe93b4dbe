"""Tests for mnist_utils.fonts: digits typeset in Matplotlib's fonts, prepared like MNIST's (saved
to tests/output/*.png for a look)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import captions, save  # noqa: E402

import mnist_utils  # noqa: E402
from mnist_utils import font_digits, show_digits  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error")


def test_font_digits_look_like_mnist(mnist_small):
    images, labels = font_digits()
    assert images.dtype == np.float32 and images.shape[1:] == (28, 28, 1)
    assert len(images) >= 150 and len(images) == len(labels)
    np.testing.assert_array_equal(labels, np.tile(np.arange(10), len(images) // 10))
    assert images.min() == 0 and images.max() == 1
    digits = images[..., 0]
    assert (digits[:, [0, 0, -1, -1], [0, -1, 0, -1]] == 0).all()   # white on black
    assert (np.median(digits, axis=(1, 2)) == 0).all()
    rows, columns = np.indices((28, 28))
    mass = digits.sum(axis=(1, 2))
    for coordinate in (rows, columns):   # MNIST: centre of mass at pixel (14, 14)
        centre = (digits * coordinate).sum(axis=(1, 2)) / mass
        assert np.abs(centre - 14).max() <= 0.55
    ink = digits > 0
    height = ink.any(axis=2).sum(axis=1)
    width = ink.any(axis=1).sum(axis=1)
    assert height.max() <= 20 and width.max() <= 20            # fits a 20x20 box...
    assert (np.maximum(height, width) >= 19).all()              # ...and fills it
    assert 0.08 < digits.mean() < 0.25                          # MNIST: 0.13 of ink
    assert np.isclose(mnist_small[0].mean(), 0.13, atol=0.01)
    np.testing.assert_array_equal(font_digits()[0], images)     # deterministic
    save(show_digits(images, labels, n=len(images), title="font_digits()"), "font_digits")


def test_show_digits_shows_every_font_digit():
    images, labels = font_digits()
    assert len(images) == 10 * len(mnist_utils.fonts.FONT_FILES) == 210   # every font found
    fig = show_digits(images, labels, title="Digits from fonts")
    save(fig, "font_digits_all")
    assert [text for text, _ in captions(fig)] == [str(label) for label in labels]
    assert fig.axes[0].get_title() == ""                 # nothing left out, nothing to say
    more = np.concatenate([images, images])[:300]
    fig = show_digits(more, np.concatenate([labels, labels])[:300])
    assert len(captions(fig)) == mnist_utils.plots.MOST_SHOWN == 250
    assert fig.axes[0].get_title() == "the first 250 of 300"
    fig = show_digits(more, np.concatenate([labels, labels])[:300], np.zeros(300, int))
    assert fig.axes[0].get_title().startswith("the first 250 of 300; ")


def test_font_digits_are_readable_by_a_model(trained):
    images, labels = font_digits()
    accuracy = (trained[0].predict(images, verbose=0).argmax(1) == labels).mean()
    assert accuracy > 0.5      # a 2-epoch model on 2,000 digits: the digits are digit-like
