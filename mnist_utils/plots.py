"""Pictures for the notebooks: digits with predictions, mistakes, a confusion matrix, schedules.

Numbers first, then the picture (as fastai does): `confusion_counts()` and `mistakes()` return
the numbers, which `plot_confusion_matrix()` and `show_mistakes()` draw.

Every figure is a `matplotlib.figure.Figure` made without pyplot, and the helpers return it:
a notebook cell that ends with `show_digits(...)` shows the picture exactly once, and a
script can `fig.savefig(...)` it. Nothing here ever calls `plt.show()`. `new_figure()`, at the
end, is where every figure of the package (the live plot's and the insides' too) is made, and
`alt_text()` says each one in words for readers who cannot see it (Jupyter's alt metadata).
"""
import io
from typing import NamedTuple

import keras
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mnist_utils.data import as_classes, as_images

__all__ = ["Mistakes", "compare_runs", "confusion_counts", "mistakes", "plot_confusion_matrix",
           "plot_learning_rate", "show_digits", "show_mistakes"]

TRAINING, VALIDATION = "#1f77b4", "#ff7f0e"   # thin blue line, thick orange line
RIGHT, WRONG = "#222222", "#d62728"           # captions of digits: near-black, red
MOST_SHOWN = 250                               # show_digits: every font digit (210), in rows of 10


# --- Numbers first: what the pictures of mistakes and confusions draw --------------------------

class Mistakes(NamedTuple):
    """The digits a model got wrong, the most confident mistakes first."""
    images: np.ndarray              # the wrong digits, as they were given
    labels: np.ndarray              # (n,) the true digits
    predicted: np.ndarray           # (n,) what the model answered
    confidence: np.ndarray | None   # (n,) its probability for that answer (None from class numbers)
    indices: np.ndarray             # (n,) where each one is in the digits given


def mistakes(images, labels, predictions):
    """The digits the model got wrong, most confident first (in data order from class numbers)."""
    labels, predictions = as_classes(labels), np.asarray(predictions)
    predicted = as_classes(predictions)
    wrong = np.flatnonzero(predicted != labels)
    confidence = None
    if predictions.ndim == 2:                      # probabilities: how sure was the model?
        wrong = wrong[np.argsort(-predictions[wrong, predicted[wrong]], kind="stable")]
        confidence = predictions[wrong, predicted[wrong]]
    return Mistakes(np.asarray(images)[wrong], labels[wrong], predicted[wrong], confidence, wrong)


def confusion_counts(labels, predictions):
    """A 10x10 array of counts: row = the true digit, column = what the model predicted."""
    labels, predicted = as_classes(labels), as_classes(predictions)
    return np.bincount(labels * 10 + predicted, minlength=100).reshape(10, 10)


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
    fig = new_figure(figsize=(columns * cell_w * inch + 0.3, rows * cell_h * inch + 0.15
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
    images, labels = as_images(images), as_classes(labels)
    given, capped = len(images), n is None and len(images) > MOST_SHOWN
    n = min(given, MOST_SHOWN) if n is None else min(n, given)
    images, labels = images[:n], labels[:n]
    shown = f"the first {n} of {given}; " if capped else ""      # never leave digits out silently
    if predictions is None:
        return _digit_grid(images, [str(label) for label in labels], [RIGHT] * n, title,
                           shown.rstrip("; ") or None)
    predicted = as_classes(predictions)[:n]
    wrong = predicted != labels
    captions = [f"{l} → {p}" if w else str(l) for l, p, w in zip(labels, predicted, wrong)]
    subtitle = f"{shown}{n - wrong.sum()} of {n} right; wrong ones in red as label → prediction"
    return _digit_grid(images, captions, [WRONG if w else RIGHT for w in wrong], title, subtitle)


def show_mistakes(images, labels, predictions, *, n=30, title=None):
    """Show the first `n` digits the model gets wrong, the most confident mistakes first.

    With class probabilities as predictions, each caption gives the confidence in the wrong
    answer; with plain class numbers the mistakes keep their order in the data.
    """
    wrong = mistakes(as_images(images), labels, predictions)
    sure = wrong.confidence is not None
    captions = [f"{wrong.labels[i]} → {wrong.predicted[i]}"
                + (f"\n{_confidence(wrong.confidence[i])}" if sure else "")
                for i in range(len(wrong.labels[:n]))]
    title = title or (f"{len(wrong.labels):,} of {len(labels):,} digits wrong"
                      + (", most confident mistakes first" if sure else ""))
    subtitle = "label → prediction" + (", confidence" if sure else "")
    return _digit_grid(wrong.images[:n], captions, [WRONG] * len(captions), title,
                       subtitle if len(wrong.labels) else "no mistakes")


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

def plot_learning_rate(schedule, epochs, *, steps_per_epoch=None):
    """Plot a learning-rate schedule over `epochs` epochs, as training will see it.

    `schedule` is either a function epoch -> rate (as for keras.callbacks.LearningRateScheduler:
    the rate holds for the whole epoch, drawn as steps) or a
    keras.optimizers.schedules.LearningRateSchedule, which changes the rate at every training
    step and so needs `steps_per_epoch`.
    """
    fig = new_figure(figsize=(7, 3.5))
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
    learning_rate_scale(ax, rates)
    epoch_axis(ax, epochs)
    ax.set_title(f"learning rate: {rates[0]:.3g} at first, {rates[-1]:.3g} at the end")
    ax.set_ylabel("learning rate")
    return fig


def plot_confusion_matrix(labels, predictions):
    """A 10x10 table of counts: row = the true digit, column = what the model predicted."""
    counts = confusion_counts(labels, predictions)
    fig = new_figure(figsize=(6, 5.4))
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


# --- Two runs side by side ---------------------------------------------------------------------

def compare_runs(first, second, *, names=("first run", "this run")):
    """Draw two training runs together: validation accuracy and loss after each epoch (thick),
    training accuracy and loss (thin, dashed). `first` and `second` are what `model.fit`
    returned (a History) or its `.history` dict, e.g. `first_run = history` kept before a change.
    """
    runs = [run.history if hasattr(run, "history") else dict(run) for run in (first, second)]
    for name, run in zip(names, runs):
        if not run.get("val_accuracy") or not run.get("val_loss"):
            raise ValueError(f"{name}: no val_accuracy and val_loss per epoch; give what "
                             "model.fit(..., validation_data=...) returned")
    fig = new_figure(figsize=(11, 4))
    accuracy, loss = fig.subplots(1, 2)
    for run, name, color in zip(runs, names, ("#7f7f7f", TRAINING)):
        epochs = np.arange(1, len(run["val_accuracy"]) + 1)
        for ax, key in ((accuracy, "accuracy"), (loss, "loss")):
            ax.plot(epochs, run["val_" + key], "o-", color=color, linewidth=2.5, markersize=4,
                    label=f"{name}: validation")
            if run.get(key):
                ax.plot(epochs, run[key], "--", color=color, linewidth=1,
                        label=f"{name}: training")
    for ax, what in ((accuracy, "accuracy"), (loss, "loss")):
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(what)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(" · ".join(f"{name}: {run['val_accuracy'][-1]:.2%} after {len(run['val_accuracy'])}"
                            f" epochs, validation loss {run['val_loss'][-1]:.4f}"
                            for name, run in zip(names, runs)), fontsize=10)
    return fig


# --- Figures that Jupyter and Colab show without pyplot ------------------------------------

def kernel_shell():
    """The IPython shell when running inside a Jupyter/Colab kernel, else None (a script)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


class CourseFigure(Figure):
    """A matplotlib Figure that Jupyter shows as a PNG with alt text (Jupyter's image metadata,
    {"image/png": {"alt": ...}}, which nbconvert and the course's site put in <img alt>)."""


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue(), {"alt": alt_text(fig)}


def new_figure(**kwargs):
    """A Figure that Jupyter can show, with alt text, even in a notebook that never imported pyplot.

    Jupyter learns how to draw figures when pyplot is first used; until then a returned Figure
    would print as "<Figure size ...>". So we teach it ourselves, for our own class of figure:
    pyplot's inline backend teaches it plain Figures (without alt text) and leaves ours alone.
    """
    shell = kernel_shell()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(CourseFigure, _png)
    return CourseFigure(layout="constrained", **kwargs)


def _words(text):
    return " ".join(text.split())


def _panel(ax):
    """One Axes in words: its title, what its axes measure, its legend, the text written on it."""
    if not ax.get_visible():
        return ""
    if getattr(ax, "_colorbar", None) is not None:
        label = _words(ax.get_ylabel() or ax.get_xlabel())
        return f"a colour scale{': ' + label if label else ''}"
    x, y = _words(ax.get_xlabel()), _words(ax.get_ylabel())
    words = [f"{y} against {x}" if x and y else f"against {x}" if x else y] if x or y else []
    legend = ax.get_legend()
    if legend is not None:
        words.append("key: " + ", ".join(_words(t.get_text()) for t in legend.get_texts()))
    texts = [_words(t.get_text()) for t in ax.texts if t.get_text().strip()]
    if ax.images:
        rows, columns = ax.images[0].get_array().shape[:2]
        if texts and rows * columns == len(texts):     # a number in each cell of a table
            words.append(f"a {rows}×{columns} table of numbers"
                         + (f", row by row: {', '.join(texts)}" if len(texts) <= 25 else ""))
        elif texts:                                     # a grid of digits, each with a caption
            more = f" and {len(texts) - 12} more" if len(texts) > 12 else ""
            listed = ", ".join(texts[:12]) + more
            words.append(f"{len(texts)} digits, captioned {listed}")
        else:
            words.append("a picture")
    title = _words(ax.get_title())
    return ", ".join(part for part in (title, "; ".join(words)) if part)


def alt_text(fig):
    """The figure in words, for readers who cannot see it (the alt text Jupyter shows it with):
    its title, then each panel's title, axes, legend and captions, all read from the figure."""
    title = _words(fig.get_suptitle())
    panels = [panel for panel in map(_panel, fig.axes) if panel]
    words = [title + "." if title else ""]
    if len(panels) == 1:
        words.append(f"Figure: {panels[0]}.")
    elif panels:
        words.append(f"Figure of {len(panels)} panels: " + ". ".join(
            f"({i}) {panel}" for i, panel in enumerate(panels, 1)) + ".")
    alt = " ".join(w for w in words if w) or "A figure."
    return alt[0].upper() + alt[1:]


def epoch_axis(ax, epochs):
    """An x axis of whole epochs from 0 to `epochs`, with a light grid."""
    ax.set_xlim(0, epochs * 1.02)          # a little room for the last validation dot
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)


def learning_rate_scale(ax, rates):
    """A log scale when the learning rate spans a factor of 10 or more."""
    if len(rates) and min(rates) > 0 and max(rates) / min(rates) >= 10:
        ax.set_yscale("log")
