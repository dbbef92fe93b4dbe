"""What every notebook of the series shares, so that the notebooks show only what changes.

- `mnist_utils.data`: the MNIST files as tf.data datasets (found locally or downloaded, verified).
- `mnist_utils.accelerators`: the right tf.distribute strategy for this machine, in one call.
- `mnist_utils.plots`: a live training plot and the pictures of digits the notebooks show.
"""
from mnist_utils.accelerators import Accelerator, find_accelerator
from mnist_utils.data import (
    MnistDataError,
    load_digits,
    mnist_files,
    training_dataset,
    validation_dataset,
)
from mnist_utils.plots import (
    LivePlot,
    font_digits,
    plot_confusion_matrix,
    plot_learning_rate,
    show_digits,
    show_mistakes,
)

__version__ = "0.1.0"

__all__ = [
    "Accelerator",
    "LivePlot",
    "MnistDataError",
    "find_accelerator",
    "font_digits",
    "load_digits",
    "mnist_files",
    "plot_confusion_matrix",
    "plot_learning_rate",
    "show_digits",
    "show_mistakes",
    "training_dataset",
    "validation_dataset",
]
