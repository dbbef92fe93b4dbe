"""What every notebook of the series shares, so that the notebooks show only what changes.

The modules, in the order a learner meets them:

- `backends`: imported first, before anything imports Keras: on a machine with a TPU where no
  KERAS_BACKEND was set, it picks JAX; `versions()` names what really runs.
- `accelerators`: where Keras trains on this machine (a tf.distribute strategy, or a
  keras.distribution on JAX), in one call; the backend-specific parts are `_tf_strategies.py`
  and `_jax_distribution.py`.
- `files` and `data`: the MNIST files (found locally or downloaded, verified), as batches for
  `model.fit` (tf.data, or NumPy batches without TensorFlow) and as arrays.
- `plots` and `live_plot`: the pictures of digits the notebooks show, with the numbers they
  draw (`confusion_counts`, `mistakes`), and the live training plot.
- `insides`: pictures of the model's insides, drawn from the learner's own model and digits.
- `fonts` and `draw`: digits typed in Matplotlib's fonts, and a pad to draw your own.
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
    confusion_counts,
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
