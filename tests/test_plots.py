"""Tests for mnist_utils.plots: each helper is drawn, checked, and saved to tests/output/*.png.

Look at the PNGs: a plot can pass every check here and still be ugly or unreadable.
"""
import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import matplotlib.image

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

import mnist_utils  # noqa: E402
from mnist_utils import (  # noqa: E402
    LivePlot,
    font_digits,
    plot_confusion_matrix,
    plot_learning_rate,
    show_digits,
    show_mistakes,
)

pytestmark = pytest.mark.filterwarnings("error")

OUTPUT = Path(__file__).parent / "output"


def save(fig, name):
    OUTPUT.mkdir(exist_ok=True)
    fig.savefig(OUTPUT / f"{name}.png")


def is_red(color):
    r, g, b = to_rgb(color)
    return r > 0.7 and g < 0.3 and b < 0.3


def captions(fig):
    """The text under each digit of a digit grid, and its colour."""
    return [(t.get_text(), t.get_color()) for t in fig.axes[0].texts]


@pytest.fixture(scope="module")
def trained(mnist_small):
    """A tiny dense model trained for 2 epochs with a LivePlot (weights and a scheduler)."""
    x, y, x_test, y_test = mnist_small
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    plot = LivePlot(weights=True)
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * 0.5**epoch)
    with warnings.catch_warnings():
        # Keras' own LearningRateScheduler (3.15) converts the rate in a way NumPy 2 deprecates.
        warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
        history = model.fit(x, y, batch_size=50, epochs=2, validation_data=(x_test, y_test),
                            callbacks=[plot, schedule], verbose=0)
    return model, plot, history.history, model.predict(x_test, verbose=0)


# --- digits ------------------------------------------------------------------------------------

def test_show_digits_shows_labels_in_a_normal_colour(mnist_small):
    x, y = mnist_small[2][:25], mnist_small[3][:25]
    fig = show_digits(x.reshape(25, 784), y, title="The first 25 test digits")
    save(fig, "show_digits_labels")
    assert len(fig.axes) == 1 and fig.get_suptitle() == "The first 25 test digits"
    assert [text for text, _ in captions(fig)] == [str(label) for label in y]
    assert not any(is_red(color) for _, color in captions(fig))
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic.shape == (3 * 42, 10 * 32)        # 3 rows of 10, 28x28 digits with margins
    np.testing.assert_allclose(mosaic[2:30, 2:30], x[0, :, :, 0])
    np.testing.assert_allclose(mosaic[44:72, 34:62], x[11, :, :, 0])   # row 2, column 2


def test_show_digits_marks_wrong_predictions_in_red(mnist_small):
    x, y = mnist_small[2][:20], mnist_small[3][:20]
    predicted = y.copy()
    predicted[[3, 7]] = (y[[3, 7]] + 1) % 10
    probabilities = np.eye(10)[predicted] * 0.9 + 0.01
    fig = show_digits(x[..., 0], np.eye(10)[y], probabilities, n=12)   # one-hot labels
    save(fig, "show_digits_predictions")
    shown = captions(fig)
    assert len(shown) == 12
    for i, (text, color) in enumerate(shown):
        if i in (3, 7):
            assert text == f"{y[i]} → {predicted[i]}" and is_red(color)
        else:
            assert text == str(y[i]) and not is_red(color)
    assert fig.axes[0].get_title().startswith("10 of 12 right")


def test_show_mistakes_most_confident_first(trained, mnist_small):
    x_test, y_test = mnist_small[2], mnist_small[3]
    probabilities = trained[3]
    fig = show_mistakes(x_test, y_test, probabilities, n=30)
    save(fig, "show_mistakes")
    predicted = probabilities.argmax(1)
    wrong = np.flatnonzero(predicted != y_test)
    assert 0 < len(wrong) < 300
    assert fig.get_suptitle() == (f"{len(wrong)} of 1,000 digits wrong, "
                                  "most confident mistakes first")
    shown = captions(fig)
    assert len(shown) == min(30, len(wrong)) and all(is_red(color) for _, color in shown)
    confidences = [float(text.split("\n")[1].lstrip(">").rstrip("%")) for text, _ in shown]
    assert confidences == sorted(confidences, reverse=True)
    most_confident = wrong[np.argmax(probabilities[wrong].max(1))]
    assert shown[0][0].startswith(f"{y_test[most_confident]} → {predicted[most_confident]}\n")


def test_show_mistakes_order_and_counts_by_hand():
    images = np.zeros((5, 28, 28))
    labels = np.array([0, 1, 2, 3, 4])
    probabilities = np.full((5, 10), 0.01)
    probabilities[0, 0] = 0.9     # right
    probabilities[1, 5] = 0.6     # wrong, less sure
    probabilities[2, 2] = 0.9     # right
    probabilities[3, 8] = 0.95    # wrong, most sure
    probabilities[4, 9] = 0.7     # wrong
    fig = show_mistakes(images, labels, probabilities)
    assert fig.get_suptitle() == "3 of 5 digits wrong, most confident mistakes first"
    assert [text for text, _ in captions(fig)] == ["3 → 8\n95%", "4 → 9\n70%", "1 → 5\n60%"]
    none = show_mistakes(images[:1], labels[:1], probabilities[:1])
    assert none.get_suptitle().startswith("0 of 1 digits wrong") and not captions(none)


def test_a_confident_mistake_is_never_captioned_100_percent():
    """99.6% sure and wrong reads "99.6%": rounding it to "100%" would claim certainty."""
    sure = [0.996, 0.99949, 0.9996, 0.99, 0.989, 0.6, 1.0]
    probabilities = np.zeros((len(sure), 10))
    probabilities[:, 1] = sure                       # every digit is a 0, read as a 1
    probabilities[:, 0] = 1 - probabilities[:, 1]
    fig = show_mistakes(np.zeros((len(sure), 28, 28)), np.zeros(len(sure), int), probabilities)
    assert [text.split("\n")[1] for text, _ in captions(fig)] == [
        "100%", ">99.9%", "99.9%", "99.6%", "99.0%", "99%", "60%"]


# --- learning rate and confusion matrix --------------------------------------------------------

def test_plot_learning_rate_plots_the_given_function():
    def decay(epoch):
        return 0.01 * 0.6**epoch + 0.0001

    fig = plot_learning_rate(decay, 12)
    save(fig, "learning_rate_function")
    ax, = fig.axes
    dots = ax.lines[0]
    np.testing.assert_array_equal(dots.get_xdata(), np.arange(12))
    np.testing.assert_allclose(dots.get_ydata(), [decay(e) for e in range(12)])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"
    # Another function gives another plot (the original helper ignored its argument).
    other = plot_learning_rate(lambda epoch: 0.001, 3).axes[0].lines[0]
    np.testing.assert_allclose(other.get_ydata(), [0.001] * 3)


def test_plot_learning_rate_of_a_keras_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=100, decay_rate=0.5)
    fig = plot_learning_rate(schedule, 5, steps_per_epoch=100)
    save(fig, "learning_rate_schedule")
    line = fig.axes[0].lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert x[0] == 0 and x[-1] == 5
    np.testing.assert_allclose(y, 0.01 * 0.5**x, rtol=1e-5)   # step = epoch * 100
    with pytest.raises(ValueError, match="steps_per_epoch"):
        plot_learning_rate(schedule, 5)


def test_confusion_matrix_counts_by_hand(trained, mnist_small):
    labels, probabilities = mnist_small[3], trained[3]
    fig = plot_confusion_matrix(labels, probabilities)
    save(fig, "confusion_matrix")
    ax, = fig.axes
    predicted = probabilities.argmax(1)
    by_hand = np.zeros((10, 10), int)
    for true, guess in zip(labels, predicted):
        by_hand[true, guess] += 1
    drawn = np.zeros((10, 10), int)
    for text in ax.texts:
        col, row = text.get_position()
        drawn[int(row), int(col)] = int(text.get_text())
    np.testing.assert_array_equal(drawn, by_hand)
    assert len(ax.texts) == 100
    assert ax.get_xlabel() == "predicted digit" and ax.get_ylabel() == "true digit"
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(d) for d in range(10)]
    assert ax.get_title().startswith(f"{np.trace(by_hand):,} of 1,000 right")


# --- font digits -------------------------------------------------------------------------------

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


# --- the live plot -----------------------------------------------------------------------------

def test_live_plot_with_weights_and_scheduler(trained):
    _, plot, history, _ = trained
    fig = plot.figure
    save(fig, "live_plot_weights")
    loss, accuracy, rate, weights, biases = fig.axes
    validation = loss.lines[1]
    np.testing.assert_array_equal(validation.get_xdata(), [1, 2])    # one dot per epoch
    np.testing.assert_allclose(validation.get_ydata(), history["val_loss"])
    np.testing.assert_allclose(accuracy.lines[1].get_ydata(), history["val_accuracy"])
    assert loss.get_title() == f"validation loss {history['val_loss'][-1]:.4f}"
    assert accuracy.get_title() == f"validation accuracy {history['val_accuracy'][-1]:.4f}"
    x = loss.lines[0].get_xdata()    # 40 batches per epoch, a point every 40 // 25 = 1
    np.testing.assert_allclose(x, np.arange(1, 81) / 40)
    # The thin line averages batches; over an epoch it gives Keras' epoch mean.
    np.testing.assert_allclose(loss.lines[0].get_ydata()[40:].mean(), history["loss"][1],
                               rtol=1e-4)
    assert rate.get_title() == "learning rate 0.005, from 0.01 at first"
    assert rate.get_subplotspec().colspan == range(0, 2)         # the full width
    assert [ax.get_subplotspec().rowspan.start for ax in fig.axes] == [0, 0, 1, 2, 2]
    np.testing.assert_allclose(rate.lines[0].get_ydata(), [0.01] * 40 + [0.005] * 40)
    assert weights.get_title() == f"spread of all {784 * 32 + 32 * 10:,} weights"
    assert biases.get_title() == "spread of all 42 biases"
    assert len(weights.collections) == 3 and len(weights.lines) == 1   # 3 bands, the median
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)


def test_live_plot_two_panels_zoom_and_sample_every(mnist_small):
    x, y, x_test, y_test = mnist_small
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    plot = LivePlot(zoom=4, sample_every=7, live=True)    # live, but not in a notebook here
    model.fit(x, y, batch_size=50, epochs=2, validation_data=(x_test, y_test),
              callbacks=[plot], verbose=0)
    fig = plot.figure
    save(fig, "live_plot_zoom4")
    loss, accuracy, rate = fig.axes
    assert rate.get_title() == "learning rate 0.01, constant"
    assert accuracy.get_ylim() == pytest.approx((0.75, 1.005))
    assert loss.get_ylim() == pytest.approx((0, 0.75))
    # 40 batches per epoch: points after 7, 14, ..., 35, then the last 5 batches; x in epochs.
    after = np.array([7, 14, 21, 28, 35, 40]) / 40
    np.testing.assert_allclose(loss.lines[0].get_xdata(), np.concatenate([after, 1 + after]))
    np.testing.assert_array_equal(accuracy.lines[1].get_xdata(), [1, 2])
    assert accuracy.get_xlim()[1] == pytest.approx(2.04)
    ticks = [t.get_text() for t in loss.get_xticklabels() if 0 <= t.get_position()[0] <= 2.04]
    assert ticks == ["0", "1", "2"]


def test_live_plot_learning_rate_schedule_without_validation(mnist_small):
    x, y = mnist_small[:2]
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=20, decay_rate=0.5)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(schedule), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    plot = LivePlot(sample_every=5)
    history = model.fit(x, y, batch_size=100, epochs=2, callbacks=[plot], verbose=0)
    save(plot.figure, "live_plot_schedule")
    loss, accuracy, rate = plot.figure.axes
    assert loss.get_title().startswith("training loss ") and len(loss.lines) == 1
    assert accuracy.get_title().startswith("training accuracy ")
    assert loss.get_ylim()[1] == pytest.approx(1.05 * max(loss.lines[0].get_ydata()))
    # The rate read after batch k of 40 is the schedule's at step k.
    steps = np.arange(5, 41, 5)
    np.testing.assert_allclose(rate.lines[0].get_ydata(), 0.01 * 0.5 ** (steps / 20), rtol=1e-5)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_live_plot_when_keras_does_not_know_the_epoch_length(mnist_small):
    import tensorflow as tf

    x, y = mnist_small[:2]
    data = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda image, label: True).batch(100)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    plot = LivePlot()
    with warnings.catch_warnings():   # that is how Keras finds out (not our warning)
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        model.fit(data, epochs=2, callbacks=[plot], verbose=0, shuffle=False)  # else it warns
    assert plot.params["steps"] is None      # unknown cardinality: a point every 10 batches
    np.testing.assert_allclose(plot.figure.axes[0].lines[0].get_xdata(), [0.5, 1, 1.5, 2])


def test_live_plot_stays_quiet_without_a_notebook(mnist_small, monkeypatch):
    """In a script nothing is displayed and nothing blocks; MNIST_LIVE_PLOT=0 is honoured."""
    from mnist_utils import plots

    shown = []
    monkeypatch.setattr(plots, "_display", lambda *args, **kwargs: shown.append(args))
    monkeypatch.setenv("MNIST_LIVE_PLOT", "0")
    assert not plots._want_live(True)
    monkeypatch.delenv("MNIST_LIVE_PLOT")
    assert not plots._want_live(None)    # pytest is not a Jupyter kernel
    x, y = mnist_small[:2]
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    plot = LivePlot(learning_rate=False)
    model.fit(x[:200], y[:200], epochs=1, callbacks=[plot], verbose=0)
    assert shown == [] and len(plot.figure.axes) == 2    # loss and accuracy only


def _small_model(seed=3):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class FakeNotebook:
    """Stands in for Jupyter's display (no kernel in this process): records every frame sent.

    Each frame: how it was sent ("show", "update" or "clear"), how many training points the
    loss curve had, the figure's size and the grid cell of each panel.
    """

    def __init__(self, plot):
        self.plot, self.frames = plot, []

    def display(self, fig, display_id=False):
        self.frames.append(self._frame("show", fig))
        return self if display_id else None

    def update(self, obj, raw=False):
        self.frames.append(("clear",) if raw and obj == {"text/plain": ""} else
                           self._frame("update", obj))

    @staticmethod
    def _frame(kind, fig):
        layout = [(ax.get_subplotspec().rowspan, ax.get_subplotspec().colspan) for ax in fig.axes]
        return kind, len(fig.axes[0].lines[0].get_xdata()), tuple(fig.get_size_inches()), layout


def test_live_plot_frames_in_a_notebook(mnist_small, monkeypatch):
    """Never an empty frame, one layout from first to last, and the final figure shown afresh."""
    from mnist_utils import plots

    x, y, x_test, y_test = mnist_small
    model = _small_model()
    plot = LivePlot(sample_every=5, live=True)
    notebook = FakeNotebook(plot)
    monkeypatch.delenv("MNIST_LIVE_PLOT", raising=False)
    monkeypatch.setattr(plots, "_kernel_shell", lambda: object())      # "we are in a kernel"
    monkeypatch.setattr(plots, "_display", notebook.display)
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * 0.5**epoch)
    with warnings.catch_warnings():   # Keras' LearningRateScheduler and NumPy 2 (not ours)
        warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
        model.fit(x, y, batch_size=100, epochs=3, validation_data=(x_test, y_test),
                  callbacks=[scheduler, plot], verbose=0)
    frames = notebook.frames
    kinds = [frame[0] for frame in frames]
    assert kinds[0] == "show" and frames[0][1] >= 2           # a line to see from the start
    assert kinds[1:-2] == ["update"] * (len(frames) - 3) and len(frames) >= 5
    # A front end that ignores updates keeps the first "show" and then gets the final figure.
    assert kinds[-2:] == ["clear", "show"] and frames[-1][1] == 3 * 20 // 5
    drawn = [frame for frame in frames if frame[0] != "clear"]
    assert {frame[2] for frame in drawn} == {(11, 3.6 + 1.7)}   # the figure never changes size
    assert all(frame[3] == drawn[0][3] for frame in drawn)       # nor its panels
    assert drawn[0][3][2] == (range(1, 2), range(0, 2))          # the rate spans the width
    save(plot.figure, "live_plot_final")


def test_live_plot_first_frame_picture(mnist_small, monkeypatch):
    """The first frame a notebook shows, saved for a look: curves after the first batches."""
    from mnist_utils import plots

    first = []

    def display(fig, display_id=False):
        if not first:
            save(fig, "live_plot_first_frame")
            first.append(len(fig.axes[0].lines[0].get_xdata()))
        return FakeNotebook(None) if display_id else None

    plot = LivePlot(sample_every=5)
    monkeypatch.delenv("MNIST_LIVE_PLOT", raising=False)
    monkeypatch.setattr(plots, "_kernel_shell", lambda: object())
    monkeypatch.setattr(plots, "_display", display)
    x, y = mnist_small[:2]
    _small_model().fit(x, y, batch_size=100, epochs=2, callbacks=[plot], verbose=0)
    assert first == [2]                                          # the first line to see


def test_live_plot_saves_to_a_file_for_scripts(mnist_small, tmp_path):
    x, y, x_test, y_test = mnist_small
    target = tmp_path / "training.png"
    plot = LivePlot(zoom=4, save_to=target)
    _small_model().fit(x, y, batch_size=100, epochs=2, validation_data=(x_test, y_test),
                       callbacks=[plot], verbose=0)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(target).shape[:2] == (int(5.3 * 100), 11 * 100)  # at 100 dpi
    assert os.listdir(tmp_path) == ["training.png"]              # no temporary files left
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    LivePlot(save_to=str(tmp_path / "curves.svg"))               # any format Matplotlib writes


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_live_plot_save_is_all_or_nothing(mnist_small, tmp_path, monkeypatch):
    """A save that fails half-way leaves the previous picture whole, and no stray files."""
    from matplotlib.figure import Figure

    target = tmp_path / "training.png"
    target.write_bytes(b"the previous picture")

    def broken_savefig(self, file, **kwargs):
        file.write(b"half a PNG")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    x, y = mnist_small[:2]
    with pytest.raises(OSError, match="disk full"):
        _small_model().fit(x[:200], y[:200], batch_size=100, epochs=1,
                           callbacks=[LivePlot(save_to=target)], verbose=0)
    assert target.read_bytes() == b"the previous picture"
    assert os.listdir(tmp_path) == ["training.png"]


@pytest.mark.parametrize("name, message", [
    ("training", "must end with the picture format"),
    ("training.txt", "must end with the picture format"),
    ("no such folder/training.png", "does not exist"),
    (".", "is a folder"),
])
def test_live_plot_save_to_a_bad_path_says_what_to_do(tmp_path, name, message):
    with pytest.raises(ValueError, match=message):
        LivePlot(save_to=tmp_path / name if name != "." else tmp_path)


def test_no_pyplot_figures_are_left_behind():
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []
    assert mnist_utils.plots.__all__ == ["LivePlot", "font_digits", "plot_confusion_matrix",
                                         "plot_learning_rate", "show_digits", "show_mistakes"]


# --- in a real Jupyter kernel ------------------------------------------------------------------

NOTEBOOK_CELLS = [
    """import warnings
warnings.simplefilter("default")
import keras, numpy as np
import mnist_utils
x, y = mnist_utils.font_digits()
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])""",
    "mnist_utils.show_digits(x[:20], y[:20])",
    "plot = mnist_utils.LivePlot(sample_every=1, weights=True)\n"
    "history = model.fit(x, y, batch_size=10, epochs=3, validation_data=(x, y), callbacks=[plot],"
    " verbose=2)",
    "probabilities = model.predict(x, verbose=0)\n"
    "mnist_utils.show_mistakes(x, y, probabilities)",
    "mnist_utils.plot_confusion_matrix(y, probabilities)",
    "mnist_utils.plot_learning_rate(lambda epoch: 0.01 * 0.6**epoch, 10)",
    "quiet = mnist_utils.LivePlot(live=False)\n"
    "history = model.fit(x, y, epochs=1, callbacks=[quiet], verbose=0)",
    "import matplotlib.pyplot as plt\nplt.close(plt.figure())  # pyplot in use: inline backend\n"
    "mnist_utils.show_digits(x[:10], y[:10], probabilities[:10])",
]


DEV_EXTRAS = ("nbformat", "nbclient", "ipykernel")   # from pyproject's [dev] extras


def _dev_extras_or_skip():
    """Skip only where the dev extras are missing: with them installed, a kernel must start,
    and a kernel that does not is a failure (a skip would hide a broken setup in CI)."""
    missing = [name for name in DEV_EXTRAS if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"needs the dev extras ({', '.join(missing)} missing): "
                    "pip install -e '.[dev]'")


def test_in_a_jupyter_kernel_each_figure_shows_once():
    _dev_extras_or_skip()
    import nbclient
    import nbformat

    class CountingClient(nbclient.NotebookClient):
        """Counts the messages of each cell, display updates included."""
        messages = {}

        shown = {}

        def process_message(self, msg, cell, cell_index):
            kinds = self.messages.setdefault(cell_index, [])
            kinds.append(msg["header"]["msg_type"])
            if kinds[-1] == "display_data" and "image/png" in msg["content"]["data"]:
                self.shown.setdefault(cell_index, []).append(msg["content"]["data"]["image/png"])
            return super().process_message(msg, cell, cell_index)

    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS])
    ours = ("MNIST_LIVE_PLOT", "MPLBACKEND", "KERAS_MAX_EPOCHS", "KERAS_MAX_STEPS_PER_EPOCH")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(Path(__file__).parents[1]))
    client = CountingClient(notebook, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(Path(__file__).parent)}})
    client.execute(env=env)               # starts a kernel, runs the cells, shuts it down
    OUTPUT.mkdir(exist_ok=True)
    nbformat.write(notebook, OUTPUT / "kernel_check.ipynb")

    def pngs(cell):
        return [out for out in cell.outputs if "image/png" in out.get("data", {})]

    cells = notebook.cells
    for helper in (1, 3, 4, 5, 7):
        assert len(pngs(cells[helper])) == 1, cells[helper].source
        assert len(cells[helper].outputs) == 1, cells[helper].outputs
    live = cells[2]
    assert len(pngs(live)) == 1        # one figure, updated in place: not a pile of them
    # A front end that ignores display updates sees only the figures first shown: the last of
    # them, after the progress lines of the last epoch, is the finished figure.
    shown = client.shown[2]
    assert len(shown) == 2 and shown[0] != shown[1]
    assert live.outputs[-1]["data"]["image/png"] == shown[-1]
    assert "Epoch 3/3" in "".join(out.get("text", "") for out in live.outputs[:-1])
    assert client.messages[2].count("update_display_data") >= 3     # at least 1 per epoch
    assert all(out.output_type != "stream" or out.name == "stdout" for out in live.outputs)
    assert "Epoch 3/3" in "".join(out.get("text", "") for out in live.outputs)  # progress stays
    assert len(pngs(cells[6])) == 1 and "update_display_data" not in client.messages[6]
    for cell in cells[1:]:
        assert not [out for out in cell.outputs if out.get("name") == "stderr"], cell.outputs


def test_a_kernel_that_cannot_start_fails_the_kernel_test(tmp_path):
    """With the dev extras installed, a broken kernel fails the kernel test instead of skipping it."""
    _dev_extras_or_skip()
    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(tmp_path / "no-such-python"), "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "Python 3 (broken on purpose)", "language": "python"}))
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path), JUPYTER_DATA_DIR=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs",
         f"{__file__}::test_in_a_jupyter_kernel_each_figure_shows_once"],
        cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True, timeout=300)
    summary = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 1 and "1 failed" in summary, run.stdout[-3000:]
