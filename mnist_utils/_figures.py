"""Figures that Jupyter and Colab can show without pyplot: the one place every picture is made.

A leaf module (it imports nothing from the package), shared by plots.py, _live_plot.py and
insides.py; also the epoch axis and learning-rate scale that the live plot and
plot_learning_rate both draw.
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


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def new_figure(**kwargs):
    """A Figure that Jupyter can show, even in a notebook that never imported pyplot.

    Jupyter learns how to draw figures when pyplot is first used; until then a returned Figure
    would print as "<Figure size ...>". So we teach it ourselves, unless it already knows.
    """
    shell = kernel_shell()
    if shell is not None:
        png = shell.display_formatter.formatters["image/png"]
        try:
            png.lookup_by_type(Figure)
        except KeyError:
            png.for_type(Figure, _png)
    return Figure(layout="constrained", **kwargs)


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
