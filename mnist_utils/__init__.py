"""What every notebook of the series shares, so that the notebooks show only what changes.

The public names the notebooks use are gathered here (`mnist_utils.show_digits(...)`), each
defined one file away, in a module named for what it holds; README's "Project layout" lists
them. `backends` comes first: it picks Keras' backend before anything imports Keras.
"""
from mnist_utils.backends import choose_backend, versions

choose_backend()  # before the imports below start Keras

from mnist_utils.accelerators import Accelerator, find_accelerator  # noqa: E402
from mnist_utils.data import (  # noqa: E402
    MnistDataError,
    load_digits,
    mnist_files,
    training_dataset,
    validation_dataset,
)
from mnist_utils.insides import (  # noqa: E402
    ConvolutionStep,
    batch_norm_values,
    convolution_step,
    filters_and_feature_maps,
    logits_and_probabilities,
    pre_activations,
    shift_digit,
    shifted_accuracy,
    shifted_predictions,
    show_activation_slopes,
    show_batch_norm,
    show_convolution,
    show_filters,
    show_logits,
    show_shifted_digit,
    show_weight_templates,
    weight_templates,
)
from mnist_utils.fonts import font_digits  # noqa: E402
from mnist_utils.live_plot import LivePlot  # noqa: E402
from mnist_utils.plots import (  # noqa: E402
    Mistakes,
    compare_runs,
    confusion_counts,
    mistakes,
    plot_confusion_matrix,
    plot_learning_rate,
    show_digits,
    show_mistakes,
)

__version__ = "0.3.0"

__all__ = [
    "Accelerator",
    "ConvolutionStep",
    "LivePlot",
    "Mistakes",
    "MnistDataError",
    "batch_norm_values",
    "compare_runs",
    "confusion_counts",
    "convolution_step",
    "filters_and_feature_maps",
    "find_accelerator",
    "font_digits",
    "load_digits",
    "logits_and_probabilities",
    "mistakes",
    "mnist_files",
    "plot_confusion_matrix",
    "plot_learning_rate",
    "pre_activations",
    "shift_digit",
    "shifted_accuracy",
    "shifted_predictions",
    "show_activation_slopes",
    "show_batch_norm",
    "show_convolution",
    "show_digits",
    "show_filters",
    "show_logits",
    "show_mistakes",
    "show_shifted_digit",
    "show_weight_templates",
    "training_dataset",
    "validation_dataset",
    "versions",
    "weight_templates",
]
