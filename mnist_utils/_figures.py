"""Figures that Jupyter and Colab can show without pyplot: the one place every picture is made.

A leaf module (it imports nothing from the package), shared by plots.py and insides.py.
"""
import io

from matplotlib.figure import Figure


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
