"""LivePlot: a Keras callback that draws the training curves while `model.fit` runs.

Its figure is made without pyplot (`plots.new_figure`): redrawn in place in Jupyter and Colab,
drawn once at the end in a script, and written to a file with `save_to=`.
"""
import os
import time
from pathlib import Path

import keras
import numpy as np
from matplotlib.backend_bases import FigureCanvasBase

from mnist_utils.files import write_atomically
from mnist_utils.plots import (
    TRAINING,
    VALIDATION,
    epoch_axis,
    kernel_shell,
    learning_rate_scale,
    new_figure,
)

__all__ = ["LivePlot"]

PERCENTILES = (0, 10, 25, 50, 75, 90, 100)


def _want_live(live):
    """Redraw during training? Only in a kernel, and not when MNIST_LIVE_PLOT=0 (tests)."""
    if os.environ.get("MNIST_LIVE_PLOT", "").strip().lower() in ("0", "false", "no"):
        return False
    return live is not False and kernel_shell() is not None


class LivePlot(keras.callbacks.Callback):
    """A Keras callback that plots loss, accuracy (and more) while `model.fit` runs.

    Thin lines: training values, each the average over the last `sample_every` batches.
    Thick lines with dots: validation values, one per epoch. The x axis counts epochs.

    zoom: magnifies the good end of the curves. The accuracy axis goes from 1 - 1/zoom to 1
        (zoom=1: 0 to 1, zoom=10: 0.9 to 1, zoom=100: 0.99 to 1) and the loss axis from 0 to
        3/zoom, or to the highest loss seen if that is lower (so zoom=1 shows everything).
    sample_every: a training point every this many batches (default: about 25 per epoch).
    learning_rate: a strip across the full width under the curves with the optimizer's
        learning rate (constant, scheduled, or set by a LearningRateScheduler). It is there
        from the first frame, so the figure keeps its size. False leaves it out.
    weights: also show the spread of all weights and of all biases during training
        (percentiles 0/10/25/50/75/90/100 as shaded bands, the median as a line).
    live: None (auto) redraws one figure in place in Jupyter/Colab: first once there are two
        training points (never an empty frame), then as training goes on, at most once a
        second and with at most a tenth of the time spent drawing. At the end the finished
        figure is shown afresh, so front ends that miss in-place updates still end with it.
        live=False, a script, or the environment variable MNIST_LIVE_PLOT=0: draw once at the
        end of training instead (and show it then, in a notebook).
    save_to: a file name such as "training.png" (or .svg, .pdf, ...): the figure is written
        there after every epoch and at the end, each time whole (a temporary file, then
        renamed), so a script gets the picture without touching Matplotlib.
    `figure` is the matplotlib Figure.
    """

    def __init__(self, *, zoom=1, sample_every=None, learning_rate=True, weights=False,
                 live=None, save_to=None):
        super().__init__()
        if zoom < 1:
            raise ValueError("zoom must be 1 (everything) or more (the high-accuracy end)")
        if sample_every is not None and (int(sample_every) != sample_every or sample_every < 1):
            raise ValueError(f"sample_every must be a whole number of batches, 1 or more, "
                             f"not {sample_every!r}")
        self.zoom, self.sample_every, self.weights = zoom, sample_every, weights
        self.learning_rate, self.live = bool(learning_rate), live
        self.save_to = None if save_to is None else _image_path(save_to)
        self.figure = new_figure(figsize=(11, sum(self._size())))
        self._handle = None

    # Keras calls these methods during fit.
    def on_train_begin(self, logs=None):
        steps = self.params.get("steps")        # batches per epoch (None: not known yet)
        self._every = self.sample_every or max(1, (steps or 250) // 25)
        self._steps = steps or 0
        self._at, self._train, self._rates, self._val = [], [], [], []
        self._spread, self._count = {"weights": [], "biases": []}, {}
        self._live = _want_live(self.live)
        self._handle, self._last_draw, self._draw_cost = None, 0.0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._before = epoch, (0, 0.0, 0.0)  # (batches, mean loss, mean accuracy)

    def on_train_batch_end(self, batch, logs=None):
        # With compile(steps_per_execution=n), Keras calls this every n batches, and at the end
        # of an epoch with a `batch` up to n - 1 past its last one.
        steps = self.params.get("steps")
        done = min(batch + 1, steps) if steps else batch + 1
        self._steps = max(self._steps, done)
        if done - self._before[0] >= self._every:
            self._sample(done, logs or {})
            if self._live and len(self._at) >= 2 and self._due():   # two points: a line to see
                self._redraw()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._before[0] < self._steps:        # the batches after the last sample
            self._sample(self._steps, logs)
        if "val_loss" in logs:
            accuracy = logs.get("val_" + _accuracy_key(logs), np.nan)
            self._val.append((epoch + 1, logs["val_loss"], accuracy))
        if self._live and self._due():
            self._redraw()
        if self.save_to:
            if not self._live:
                self._draw()
            _save_atomically(self.figure, self.save_to)

    def on_train_end(self, logs=None):
        self._draw()
        if self.save_to:
            _save_atomically(self.figure, self.save_to)
        if self._handle is not None:
            # Replace the live frame by nothing and show the finished figure as a new output:
            # where updates work, one figure remains; where a front end ignores them (VS Code
            # has had such bugs), the reader still ends with the final figure.
            self._handle.update({"text/plain": ""}, raw=True)
            self._handle = None
        if kernel_shell() is not None:
            _display(self.figure)

    # Collecting the data.
    def _sample(self, k, logs):
        """Record a training point: the average over the batches since the previous one.

        Keras reports the mean since the start of the epoch, m(k) after k batches, so
        batches j+1 to k averaged (k m(k) - j m(j)) / (k - j).
        """
        now = (k, float(logs.get("loss", np.nan)), float(logs.get(_accuracy_key(logs), np.nan)))
        j, loss, accuracy = self._before
        self._before = now
        if k > j:
            self._at.append((self._epoch, k))
            self._train.append(((k * now[1] - j * loss) / (k - j),
                                (k * now[2] - j * accuracy) / (k - j)))
            self._rates.append(float(self.model.optimizer.learning_rate))
            if self.weights:
                self._sample_weights()

    def _sample_weights(self):
        """Percentiles of all kernel weights, and of all biases, of the model now."""
        variables = self.model.trainable_weights
        groups = {"weights": [v for v in variables if len(v.shape) >= 2],
                  "biases": [v for v in variables if len(v.shape) == 1 and "bias" in v.name]}
        for name, group in groups.items():
            values = np.concatenate([v.numpy().ravel() for v in group] or [[np.nan]])
            self._spread[name].append(_percentiles(values))
            self._count[name] = len(values) if group else 0

    # Drawing.
    def _due(self):
        """Time for a new frame? At most one a second, and at most a tenth of the time drawing:
        short epochs (notebook 02's take well under a second) would otherwise wait on the plot."""
        return time.monotonic() - self._last_draw > max(1, 10 * self._draw_cost)

    def _redraw(self):
        """Draw and send the new picture to the notebook, timing it to throttle redraws.

        The first call shows the figure; later calls update it in place.
        """
        start = time.monotonic()
        self._draw()
        if self._handle is None:
            self._handle = _display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)
        self._last_draw = time.monotonic()
        self._draw_cost = self._last_draw - start

    def _size(self):
        """Heights in inches of the rows: curves, [learning rate], [weights and biases].

        Fixed when the LivePlot is made, so the figure never changes size while it trains.
        """
        return [3.6] + [1.7] * self.learning_rate + [3.0] * bool(self.weights)

    def _draw(self):
        """Draw every panel again from the data collected so far (same Figure, new contents)."""
        fig, epochs, heights = self.figure, self.params["epochs"], self._size()
        fig.clear()
        fig.set_size_inches(11, sum(heights))
        grid = fig.add_gridspec(len(heights), 2, height_ratios=heights)
        x = np.array([epoch + k / self._steps for epoch, k in self._at])
        train = np.array(self._train).reshape(-1, 2)
        val = np.array(self._val).reshape(-1, 3)
        for column, name, ylim in [(0, "loss", (0, self._loss_top())),
                                   (1, "accuracy", (1 - 1 / self.zoom, 1 + 0.02 / self.zoom))]:
            ax = fig.add_subplot(grid[0, column])
            _draw_metric(ax, name, x, train[:, column], val[:, 0], val[:, column + 1])
            ax.set_ylim(*ylim)
            epoch_axis(ax, epochs)
        if self.learning_rate:
            ax = fig.add_subplot(grid[1, :])
            _draw_learning_rate(ax, x, self._rates)
            epoch_axis(ax, epochs)
        if self.weights:
            for column, name in enumerate(["weights", "biases"]):
                ax = fig.add_subplot(grid[-1, column])
                _draw_spread(ax, name, x, np.array(self._spread[name]).reshape(-1, 7),
                             self._count.get(name, 0))
                epoch_axis(ax, epochs)

    def _loss_top(self):
        """3/zoom, or the highest loss seen (plus a margin) when that is lower."""
        seen = [row[0] for row in self._train] + [row[1] for row in self._val]
        return min(3 / self.zoom, 1.05 * max([v for v in seen if np.isfinite(v)], default=3))


def _percentiles(values):
    """np.percentile(values, PERCENTILES), from one sort: NumPy's vectorised sort is several times
    quicker than the selection np.percentile makes, and this runs many times an epoch."""
    ordered = np.sort(values)
    position = np.array(PERCENTILES) / 100 * (len(ordered) - 1)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, len(ordered) - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def _accuracy_key(logs):
    """The name Keras gives the accuracy metric ("accuracy", "sparse_categorical_accuracy"...)."""
    return next((k for k in logs if "acc" in k and not k.startswith("val_")), "accuracy")


def _draw_metric(ax, name, x, values, val_x, val_values):
    """Training (thin line) and validation (thick, one dot per epoch); the latest in the title."""
    ax.plot(x, values, color=TRAINING, linewidth=1, label="training")
    if len(val_x):
        ax.plot(val_x, val_values, "o-", color=VALIDATION, linewidth=2.5, markersize=5,
                label="validation")
    ax.legend(loc="upper right" if name == "loss" else "lower right", fontsize=9)
    if len(val_values) and np.isfinite(val_values[-1]):
        ax.set_title(f"validation {name} {val_values[-1]:.4f}")
    else:
        ax.set_title(f"training {name} {values[-1]:.4f}" if len(values) else name)


def _draw_learning_rate(ax, x, rates):
    """The optimizer's learning rate at each training point; its latest value in the title."""
    ax.plot(x, rates, color="#8c564b", linewidth=1.5, drawstyle="steps-pre")  # as it was used
    learning_rate_scale(ax, rates)
    if not rates:
        ax.set_title("learning rate")
    elif len(set(rates)) == 1:
        ax.set_title(f"learning rate {rates[-1]:.3g}, constant")
    else:
        ax.set_title(f"learning rate {rates[-1]:.3g}, from {rates[0]:.3g} at first")


def _draw_spread(ax, name, x, percentiles, count):
    """Percentile bands, like the TensorFlow 1 visualiser: min-max, 10-90, 25-75, median."""
    color = "#2ca02c" if name == "weights" else "#9467bd"
    for (low, high), alpha, label in [((0, 6), 0.15, "min–max"), ((1, 5), 0.3, "10–90%"),
                                      ((2, 4), 0.5, "25–75%")]:
        ax.fill_between(x, percentiles[:, low], percentiles[:, high], color=color, alpha=alpha,
                        linewidth=0, label=label)
    ax.plot(x, percentiles[:, 3], color=color, linewidth=1.5, label="median")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"spread of all {count:,} {name}" if count else f"{name}: none")


def _display(fig, **kwargs):
    from IPython.display import display
    return display(fig, **kwargs)


# --- Saving a figure from a script -------------------------------------------------------------

def _image_path(path):
    """Check early (not after an hour of training) that a figure can be saved at `path`."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"save_to={str(path)!r} is a folder: give a file name in it, "
                         f"e.g. {str(path / 'training.png')!r}")
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        raise ValueError(f"save_to={str(path)!r}: the file name must end with the picture format, "
                         f"one of {', '.join('.' + f for f in sorted(formats))} "
                         f"(e.g. 'training.png')")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"save_to={str(path)!r}: the folder {str(folder)!r} does not exist; "
                         "create it first or save somewhere else")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"save_to={str(path)!r}: no permission to write in {str(folder)!r}; "
                         "save somewhere else")
    return path


def _save_atomically(fig, path):
    """Write the figure so that whoever reads `path` meanwhile (an image viewer, a web page)
    sees the previous picture or the new one, never half a file."""
    with write_atomically(path) as file:
        fig.savefig(file, format=path.suffix.lower().lstrip("."))
