"""Figures that Jupyter and Colab can show without pyplot: the one place every picture is made.

A leaf module (it imports nothing from the package), shared by plots.py, _live_plot.py and
insides.py; also the epoch axis and learning-rate scale that the live plot and
plot_learning_rate both draw. Every picture shown in Jupyter carries alt text (`alt_text`):
the figure in words, for readers who cannot see it.
"""
import io

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

TRAINING, VALIDATION = "#1f77b4", "#ff7f0e"   # thin blue line, thick orange line


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
