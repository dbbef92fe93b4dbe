"""Pictures for the notebooks: a live training plot, digits with predictions, and friends.

Every figure is a `matplotlib.figure.Figure` made without pyplot, and the helpers return it:
a notebook cell that ends with `show_digits(...)` shows the picture exactly once, and a
script can `fig.savefig(...)` it. Nothing here ever calls `plt.show()`.
"""
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.ticker import MaxNLocator

from mnist_utils._figures import kernel_shell as _kernel_shell
from mnist_utils._figures import new_figure as _new_figure
from mnist_utils.fonts import font_digits

__all__ = ["LivePlot", "font_digits", "plot_confusion_matrix", "plot_learning_rate",
           "show_digits", "show_mistakes"]

TRAINING, VALIDATION = "#1f77b4", "#ff7f0e"   # thin blue line, thick orange line
RIGHT, WRONG = "#222222", "#d62728"           # captions of digits: near-black, red
PERCENTILES = (0, 10, 25, 50, 75, 90, 100)
MOST_SHOWN = 250                               # show_digits: every font digit (210), in rows of 10


# --- Turning what the notebooks have into plain NumPy ------------------------------------------

def _as_images(images):
    """(n, 784), (n, 28, 28) or (n, 28, 28, 1), in [0, 1] or [0, 255] -> (n, 28, 28) in [0, 1]."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
    return images / 255.0 if images.max(initial=0) > 1 else images


def _as_classes(values):
    """Integer labels or predictions (n,) or one-hot/probabilities (n, 10) -> ints (n,)."""
    values = np.asarray(values)
    return values.argmax(axis=-1) if values.ndim == 2 else values.astype(int)


# --- Digits ------------------------------------------------------------------------------------

def _digit_grid(images, captions, colors, title=None, subtitle=None, columns=10):
    """Draw digits in rows of `columns`, black on white, each with a caption under it.

    All digits are pasted into one image (one Axes, fast even for 100 digits); the captions
    are text placed under each digit.
    """
    lines = max([c.count("\n") + 1 for c in captions], default=1)
    cell_w, cell_h = 32, 32 + 10 * lines            # pixels: 28 for the digit, margins, caption
    columns = max(1, min(columns, len(images)))
    rows = max(1, -(-len(images) // columns))
    mosaic = np.zeros((rows * cell_h, columns * cell_w))
    inch = 0.7 / cell_w                             # a digit is 0.7 inch wide
    fig = _new_figure(figsize=(columns * cell_w * inch + 0.3, rows * cell_h * inch + 0.15
                               + 0.3 * bool(title) + 0.25 * bool(subtitle)))
    ax = fig.add_subplot()
    for i, (image, caption, color) in enumerate(zip(images, captions, colors)):
        top, left = (i // columns) * cell_h + 2, (i % columns) * cell_w + 2
        mosaic[top - 1:top + 29, left - 1:left + 29] = 0.12    # a faint frame around the digit
        mosaic[top:top + 28, left:left + 28] = image
        ax.text(left + 14, top + 29, caption, ha="center", va="top", color=color, fontsize=10,
                linespacing=1.1)
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(title)
    if subtitle:
        ax.set_title(subtitle, fontsize=9, color="#555555")
    return fig


def show_digits(images, labels, predictions=None, *, n=None, title=None):
    """Show digits with their label under each; with predictions, wrong ones in red.

    A right prediction shows the digit ("7"); a wrong one shows "label → prediction" in red
    ("7 → 2": a 7 that the model read as a 2). `n`: how many to show (default: all, at most
    MOST_SHOWN, and then the subtitle says how many were shown of how many).
    """
    images, labels = _as_images(images), _as_classes(labels)
    given, capped = len(images), n is None and len(images) > MOST_SHOWN
    n = min(given, MOST_SHOWN) if n is None else min(n, given)
    images, labels = images[:n], labels[:n]
    shown = f"the first {n} of {given}; " if capped else ""      # never leave digits out silently
    if predictions is None:
        return _digit_grid(images, [str(label) for label in labels], [RIGHT] * n, title,
                           shown.rstrip("; ") or None)
    predicted = _as_classes(predictions)[:n]
    wrong = predicted != labels
    captions = [f"{l} → {p}" if w else str(l) for l, p, w in zip(labels, predicted, wrong)]
    subtitle = f"{shown}{n - wrong.sum()} of {n} right; wrong ones in red as label → prediction"
    return _digit_grid(images, captions, [WRONG if w else RIGHT for w in wrong], title, subtitle)


def show_mistakes(images, labels, predictions, *, n=30, title=None):
    """Show the first `n` digits the model gets wrong, the most confident mistakes first.

    With class probabilities as predictions, each caption gives the confidence in the wrong
    answer; with plain class numbers the mistakes keep their order in the data.
    """
    images, labels = _as_images(images), _as_classes(labels)
    predictions = np.asarray(predictions)
    predicted = _as_classes(predictions)
    wrong = np.flatnonzero(predicted != labels)
    sure = predictions.ndim == 2                   # probabilities: how sure was the model?
    if sure:
        wrong = wrong[np.argsort(-predictions[wrong, predicted[wrong]], kind="stable")]
    shown = wrong[:n]
    captions = [f"{labels[i]} → {predicted[i]}"
                + (f"\n{_confidence(predictions[i, predicted[i]])}" if sure else "") for i in shown]
    title = title or (f"{len(wrong):,} of {len(labels):,} digits wrong"
                      + (", most confident mistakes first" if sure else ""))
    subtitle = "label → prediction" + (", confidence" if sure else "")
    return _digit_grid(images[shown], captions, [WRONG] * len(shown), title,
                       subtitle if len(wrong) else "no mistakes")


def _confidence(p):
    """A probability as a percentage that never rounds a doubt away: 0.996 -> "99.6%".

    Whole percents up to 99%; above that one decimal, and ">99.9%" rather than "100%" for
    anything short of certainty (a mistake made with 100% confidence would be a strange claim).
    """
    p = float(p)
    if p >= 1:
        return "100%"
    if p < 0.99:
        return f"{p:.0%}"
    return f"{p:.1%}" if p < 0.9995 else ">99.9%"


# --- Learning rate and confusion matrix --------------------------------------------------------

def _epoch_axis(ax, epochs):
    ax.set_xlim(0, epochs * 1.02)          # a little room for the last validation dot
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)


def _learning_rate_scale(ax, rates):
    """A log scale when the learning rate spans a factor of 10 or more."""
    if len(rates) and min(rates) > 0 and max(rates) / min(rates) >= 10:
        ax.set_yscale("log")


def plot_learning_rate(schedule, epochs, *, steps_per_epoch=None):
    """Plot a learning-rate schedule over `epochs` epochs, as training will see it.

    `schedule` is either a function epoch -> rate (as for keras.callbacks.LearningRateScheduler:
    the rate holds for the whole epoch, drawn as steps) or a
    keras.optimizers.schedules.LearningRateSchedule, which changes the rate at every training
    step and so needs `steps_per_epoch`.
    """
    fig = _new_figure(figsize=(7, 3.5))
    ax = fig.add_subplot()
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        if not steps_per_epoch:
            raise ValueError("a LearningRateSchedule counts steps: give steps_per_epoch too")
        steps = np.unique(np.linspace(0, epochs * steps_per_epoch, 1001).round().astype(int))
        rates = [float(schedule(step)) for step in steps]
        ax.plot(steps / steps_per_epoch, rates, color=TRAINING, linewidth=2)
    else:
        rates = [float(schedule(epoch)) for epoch in range(epochs)]
        ax.stairs(rates, np.arange(epochs + 1), color=TRAINING, linewidth=2, baseline=None)
        ax.plot(np.arange(epochs), rates, "o", color=TRAINING, markersize=4)
    _learning_rate_scale(ax, rates)
    _epoch_axis(ax, epochs)
    ax.set_title(f"learning rate: {rates[0]:.3g} at first, {rates[-1]:.3g} at the end")
    ax.set_ylabel("learning rate")
    return fig


def plot_confusion_matrix(labels, predictions):
    """A 10x10 table of counts: row = the true digit, column = what the model predicted."""
    labels, predicted = _as_classes(labels), _as_classes(predictions)
    counts = np.bincount(labels * 10 + predicted, minlength=100).reshape(10, 10)
    fig = _new_figure(figsize=(6, 5.4))
    ax = fig.add_subplot()
    shade = np.where(np.eye(10, dtype=bool), 0.0, np.sqrt(counts / max(counts.max(), 1)))
    ax.imshow(np.eye(10) * 0.15 + shade, cmap="Reds", vmin=0, vmax=0.6)  # mistakes stand out
    for (row, col), count in np.ndenumerate(counts):
        ax.text(col, row, str(count), ha="center", va="center", fontsize=9,
                color="#bbbbbb" if count == 0 else "black",
                fontweight="bold" if row == col else "normal")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    right = np.trace(counts)
    ax.set_title(f"{right:,} of {counts.sum():,} right ({right / max(counts.sum(), 1):.2%})")
    return fig


# --- The live training plot --------------------------------------------------------------------

def _want_live(live):
    """Redraw during training? Only in a kernel, and not when MNIST_LIVE_PLOT=0 (tests)."""
    if os.environ.get("MNIST_LIVE_PLOT", "").strip().lower() in ("0", "false", "no"):
        return False
    return live is not False and _kernel_shell() is not None


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
        training points (never an empty frame), then at each epoch end and in between at most once a second
        (less often when drawing is slow). At the end the finished figure is shown afresh, so
        front ends that miss in-place updates still end with it. live=False, a script, or the
        environment variable MNIST_LIVE_PLOT=0: draw once at the end of training instead (and
        show it then, in a notebook).
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
        self.figure = _new_figure(figsize=(11, sum(self._size())))
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
        self._steps = max(self._steps, batch + 1)
        if (batch + 1) % self._every == 0:
            self._sample(batch + 1, logs or {})
            due = time.monotonic() - self._last_draw > max(1, 10 * self._draw_cost)
            if self._live and len(self._at) >= 2 and due:   # two points: a line to see
                self._redraw()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._before[0] < self._steps:        # the batches after the last sample
            self._sample(self._steps, logs)
        if "val_loss" in logs:
            accuracy = logs.get("val_" + _accuracy_key(logs), np.nan)
            self._val.append((epoch + 1, logs["val_loss"], accuracy))
        if self._live:
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
        if _kernel_shell() is not None:
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
            self._spread[name].append(np.percentile(values, PERCENTILES))
            self._count[name] = len(values) if group else 0

    # Drawing.
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
            _epoch_axis(ax, epochs)
        if self.learning_rate:
            ax = fig.add_subplot(grid[1, :])
            _draw_learning_rate(ax, x, self._rates)
            _epoch_axis(ax, epochs)
        if self.weights:
            for column, name in enumerate(["weights", "biases"]):
                ax = fig.add_subplot(grid[-1, column])
                _draw_spread(ax, name, x, np.array(self._spread[name]).reshape(-1, 7),
                             self._count.get(name, 0))
                _epoch_axis(ax, epochs)

    def _loss_top(self):
        """3/zoom, or the highest loss seen (plus a margin) when that is lower."""
        seen = [row[0] for row in self._train] + [row[1] for row in self._val]
        return min(3 / self.zoom, 1.05 * max([v for v in seen if np.isfinite(v)], default=3))


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
    _learning_rate_scale(ax, rates)
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
    """Write the figure to a temporary file beside `path`, then rename it into place.

    Whoever reads `path` meanwhile (an image viewer, a web page) sees the previous picture or
    the new one, never half a file; if saving fails, nothing is left behind.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            fig.savefig(file, format=path.suffix.lower().lstrip("."))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)      # as an ordinary new file, not mkstemp's 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
