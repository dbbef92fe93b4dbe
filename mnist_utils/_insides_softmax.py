"""Notebook 01: one digit's logits and softmax probabilities; the ten weight templates."""
import keras
import numpy as np
from keras import ops

from mnist_utils._figures import new_figure
from mnist_utils._insides_common import (
    DIVERGING,
    activation_name,
    as_class,
    check_model,
    draw_bars,
    draw_digit,
    find_layer,
    layer_values,
    one_digit,
    to_numpy,
)


def logits_and_probabilities(model, image):
    """One digit's ten logits (the last layer's scores before softmax) and its probabilities."""
    check_model(model, "logits_and_probabilities")
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense) or activation_name(last) != "softmax":
        raise ValueError("logits_and_probabilities(): the model's last layer must be "
                         'keras.layers.Dense(10, activation="softmax"), as in the notebooks')
    x, probabilities = layer_values(model, one_digit(model, image, "show_logits"), last)
    logits = ops.matmul(x, last.kernel)
    if last.use_bias:
        logits = logits + last.bias
    return to_numpy(logits)[0].astype(np.float64), to_numpy(probabilities)[0].astype(np.float64)


def show_logits(model, image, label=None):
    """One digit, its ten logits as bars, and beside them the probabilities softmax makes."""
    logits, probabilities = logits_and_probabilities(model, image)
    label, winner = as_class(label), int(probabilities.argmax())
    fig = new_figure(figsize=(10, 3.3))
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 2.2, 2.2])
    named = "the digit" + ("" if label is None else f" ({label})")
    draw_digit(fig.add_subplot(grid[0]), image, named)
    ax = fig.add_subplot(grid[1])
    draw_bars(ax, logits, winner)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title("logits: the scores X·W + b", fontsize=10)
    ax.set_ylabel("score")
    ax = fig.add_subplot(grid[2])
    bars = draw_bars(ax, probabilities, winner)
    ax.set_ylim(0, 1.12)
    ax.set_title(f"softmax: probabilities, summing to {probabilities.sum():.3f}", fontsize=10)
    ax.set_ylabel("probability")
    ax.bar_label(bars, [f"{p:.0%}" if p >= 0.005 else "" for p in probabilities], fontsize=8)
    verdict = f"the model reads a {winner} ({probabilities[winner]:.0%})"
    if label is not None:
        verdict += ": right" if winner == label else f", but it is a {label}"
    fig.suptitle(f"softmax turns scores into probabilities and pulls the winner away: {verdict}",
                 fontsize=11)
    return fig


# --- 01: weight templates ----------------------------------------------------------------------

def weight_templates(model):
    """The one-layer model's Dense kernel as ten 28x28 templates, one per digit (10, 28, 28)."""
    check_model(model, "weight_templates")
    dense = find_layer(model, None, (keras.layers.Dense,), "weight_templates")
    kernel = to_numpy(dense.kernel)
    if kernel.shape != (784, 10):
        raise ValueError(f"weight_templates(): the first Dense layer's weights have shape "
                         f"{kernel.shape}; templates need a layer that reads the 784 pixels "
                         "directly and outputs 10 scores, (784, 10), as in notebook 01")
    return kernel.T.reshape(10, 28, 28)


def show_weight_templates(model):
    """The ten weight templates, blue where a pixel's ink votes for the digit, red against."""
    templates = weight_templates(model)
    limit = float(np.abs(templates).max()) or 1.0
    fig = new_figure(figsize=(10, 4.4))
    axes = fig.subplots(2, 5)
    for digit, ax in enumerate(axes.flat):
        shown = ax.imshow(templates[digit], cmap=DIVERGING, vmin=-limit, vmax=limit,
                          interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"weights of {digit}", fontsize=10)
    bar = fig.colorbar(shown, ax=axes, shrink=0.9, ticks=[-limit, 0, limit])
    bar.ax.set_yticklabels([f"−{limit:.2g}\nink here\nvotes against", "0",
                            f"+{limit:.2g}\nink here\nvotes for"], fontsize=8)
    fig.suptitle("each digit's score is the sum of the pixels' ink times these weights (+ a bias)",
                 fontsize=11)
    return fig
