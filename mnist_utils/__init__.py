"""What every notebook of the series shares, so that the notebooks show only what changes.

- `mnist_utils.backends`: imported first, before anything imports Keras: on a machine with a
  TPU where no KERAS_BACKEND was set, it picks JAX; `versions()` names what really runs.
- `mnist_utils.data`: the MNIST files as tf.data datasets (found locally or downloaded, verified).
- `mnist_utils.accelerators`: where Keras trains on this machine (a tf.distribute strategy, or a
  keras.distribution on JAX), in one call.
- `mnist_utils.plots`: a live training plot and the pictures of digits the notebooks show, with
  the numbers they draw (`confusion_counts`, `mistakes`).
- `mnist_utils.insides`: pictures of the model's insides (logits, weights, slopes, filters,
  batch normalisation), each drawn from the learner's own model and digits.
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
from mnist_utils.plots import (  # noqa: E402
    LivePlot,
    Mistakes,
    compare_runs,
    confusion_counts,
    font_digits,
    mistakes,
    plot_confusion_matrix,
    plot_learning_rate,
    show_digits,
    show_mistakes,
)

__version__ = "0.2.0"

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
