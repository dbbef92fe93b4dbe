"""Tests for LivePlot (mnist_utils/live_plot.py): the curves it
draws while `fit` runs, its frames in a notebook, and the file it writes for scripts. Each figure
is saved to tests/output/*.png: look at them, a plot can pass every check and still be unreadable.
"""
import os
import warnings

import matplotlib
import matplotlib.image

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import save  # noqa: E402

from mnist_utils import LivePlot, live_plot  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error")


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


def test_live_plot_with_several_steps_per_execution(mnist_small):
    """compile(steps_per_execution=6), as the notebooks use: Keras calls the plot after batches
    6, 12, ..., 36 and then says 41 for the epoch's last 4 of 40. The points still fall on the
    batches trained, the epoch still has 40 of them."""
    x, y = mnist_small[:2]
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=6)
    plot = LivePlot(sample_every=7)
    model.fit(x, y, batch_size=50, epochs=2, callbacks=[plot], verbose=0)
    after = np.array([12, 24, 36, 40]) / 40
    np.testing.assert_allclose(plot.figure.axes[0].lines[0].get_xdata(),
                               np.concatenate([after, 1 + after]))
    assert plot._steps == 40


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
    shown = []
    monkeypatch.setattr(live_plot, "_display", lambda *args, **kwargs: shown.append(args))
    monkeypatch.setenv("MNIST_LIVE_PLOT", "0")
    assert not live_plot._want_live(True)
    monkeypatch.delenv("MNIST_LIVE_PLOT")
    assert not live_plot._want_live(None)    # pytest is not a Jupyter kernel
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
    x, y, x_test, y_test = mnist_small
    model = _small_model()
    plot = LivePlot(sample_every=5, live=True)
    notebook = FakeNotebook(plot)
    monkeypatch.delenv("MNIST_LIVE_PLOT", raising=False)
    monkeypatch.setattr(live_plot, "kernel_shell", lambda: object())      # "we are in a kernel"
    monkeypatch.setattr(live_plot, "_display", notebook.display)
    monkeypatch.setattr(LivePlot, "_due", lambda self: True)   # every frame (timing: below)
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


def test_live_plot_spends_at_most_a_tenth_of_the_time_drawing(mnist_small, monkeypatch):
    """Short epochs do not wait on the plot: with frames that take 0.5 s to draw, a new frame only
    every 5 s, at an epoch's end as in between; the final figure still comes at the end."""
    now = [0.0]

    def display(fig, display_id=False):
        now[0] += 0.5                     # drawing and sending a frame
        shown.append(now[0])
        return notebook if display_id else None

    shown, notebook = [], FakeNotebook(None)
    notebook.update = lambda obj, raw=False: display(obj)
    monkeypatch.delenv("MNIST_LIVE_PLOT", raising=False)
    monkeypatch.setattr(live_plot, "kernel_shell", lambda: object())
    monkeypatch.setattr(live_plot, "_display", display)
    monkeypatch.setattr(live_plot.time, "monotonic", lambda: now[0])

    class Clock(keras.callbacks.Callback):    # each training batch takes 0.1 s
        def on_train_batch_end(self, batch, logs=None):
            now[0] += 0.1

    x, y = mnist_small[:2]
    plot = LivePlot(sample_every=2)
    _small_model().fit(x, y, batch_size=100, epochs=6, callbacks=[Clock(), plot], verbose=0)
    # 6 epochs of 20 batches: 12 s of training; frames at the first two points (0.4 s), then
    # once 5 s have passed since the last, then the final one (and the clearing of the live one).
    frames = shown[:-2]
    assert len(frames) >= 2 and all(b - a >= 5 for a, b in zip(frames, frames[1:]))
    assert len(shown) <= 2 + 12 / 5 + 2


def test_live_plot_first_frame_picture(mnist_small, monkeypatch):
    """The first frame a notebook shows, saved for a look: curves after the first batches."""
    first = []

    def display(fig, display_id=False):
        if not first:
            save(fig, "live_plot_first_frame")
            first.append(len(fig.axes[0].lines[0].get_xdata()))
        return FakeNotebook(None) if display_id else None

    plot = LivePlot(sample_every=5)
    monkeypatch.delenv("MNIST_LIVE_PLOT", raising=False)
    monkeypatch.setattr(live_plot, "kernel_shell", lambda: object())
    monkeypatch.setattr(live_plot, "_display", display)
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


@pytest.mark.parametrize("n", [1, 2, 7, 184_900])
def test_the_weight_bands_are_numpys_percentiles(n):
    """The bands come from one sort instead of np.percentile: the same numbers."""
    values = np.random.default_rng(n).normal(size=n).astype(np.float32)
    np.testing.assert_allclose(live_plot._percentiles(values),
                               np.percentile(values, live_plot.PERCENTILES), rtol=1e-6, atol=1e-7)
