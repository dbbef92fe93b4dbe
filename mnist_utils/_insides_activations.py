"""Notebook 02: why sigmoid stalls: the activations' slopes at the model's own values."""
import keras
import numpy as np
from keras import ops

from mnist_utils._figures import new_figure
from mnist_utils._insides_common import (
    RELU,
    SIGMOID,
    activation_name,
    as_batch,
    check_model,
    to_numpy,
)


def pre_activations(model, images):
    """Each hidden Dense layer's values before its sigmoid or ReLU, on these digits.

    Returns {layer name: array (n digits, units)}: X·W + b, what the activation then reads.
    """
    check_model(model, "pre_activations")
    hidden = [layer for layer in model.layers[:-1] if isinstance(layer, keras.layers.Dense)
              and activation_name(layer) in ("sigmoid", "relu")]
    if not hidden:
        raise ValueError('pre_activations(): the model has no hidden Dense layer with '
                         'activation="sigmoid" or "relu"')
    values, x = {}, ops.convert_to_tensor(as_batch(model, images))
    for layer in model.layers:
        if any(layer is each for each in hidden):
            z = ops.matmul(x, layer.kernel) + (layer.bias if layer.use_bias else 0)
            values[layer.name] = to_numpy(z)
        x = layer(x, training=False)
        if len(values) == len(hidden):
            break
    return values


def show_activation_slopes(model, images):
    """Sigmoid's and ReLU's curves and slopes, where the model's own values fall, and what
    multiplying by a slope of at most 1/4 at every layer does to the gradient."""
    values = pre_activations(model, images)
    activation = activation_name(model.get_layer(next(iter(values))))
    pooled = np.concatenate([v.ravel() for v in values.values()])
    low, high = np.percentile(pooled, [0.5, 99.5])
    reach = max(6.0, float(max(-low, high)))
    z = np.linspace(-reach, reach, 401)
    sigmoid = 1 / (1 + np.exp(-z))
    fig = new_figure(figsize=(12, 3.8))
    left, middle, right = fig.subplots(1, 3, width_ratios=[1, 1.2, 1])

    left.plot(z, sigmoid, color=SIGMOID, linewidth=2, label="sigmoid")
    left.plot(z, np.maximum(z, 0), color=RELU, linewidth=2, label="ReLU")
    left.set_ylim(-0.5, 3)
    left.set_title("the activations", fontsize=10)
    left.set_xlabel("input z  (X·W + b)")
    left.set_ylabel("output")
    left.legend(fontsize=8, loc="upper left")

    counts, _, _ = middle.hist(pooled, bins=np.linspace(-reach, reach, 81), color="#999999",
                               alpha=0.45, density=True,
                               label=f"your model's z ({activation}), {len(pooled):,} values")
    middle.set_ylim(0, counts.max() * 1.75)        # room above the bars for the legend
    middle.set_yticks([])
    middle.set_ylabel("how often (histogram)", fontsize=8)
    slopes = middle.twinx()
    slopes.plot(z, sigmoid * (1 - sigmoid), color=SIGMOID, linewidth=2,
                label="sigmoid's slope: 1/4 at most")
    slopes.plot(z, (z > 0).astype(float), color=RELU, linewidth=2,
                label="ReLU's slope: 1 for z > 0")
    slopes.axhline(0.25, color=SIGMOID, linestyle=":", linewidth=1)
    slopes.set_ylim(-0.05, 1.75)
    slopes.set_yticks([0, 0.25, 0.5, 0.75, 1])
    slopes.set_ylabel("slope")
    middle.set_xlabel("input z  (X·W + b)")
    middle.set_title(f"slopes, and where {len(values)} hidden layers' inputs fall", fontsize=10)
    lines = middle.get_legend_handles_labels()
    more = slopes.get_legend_handles_labels()
    slopes.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="upper left")

    depth = np.arange(1, len(values) + 1)
    right.semilogy(depth, 0.25 ** depth, "o-", color=SIGMOID, label="sigmoid at best: (1/4)ᵏ")
    right.semilogy(depth, np.ones_like(depth, dtype=float), "o-", color=RELU,
                   label="ReLU, through units that are on: 1")
    own = _mean_slopes(values, activation)[::-1].cumprod()   # from the output back
    right.semilogy(depth, own, "s--", color="black", markersize=5,
                   label="your model: the average slope\nof each layer, multiplied" + (
                       "\n(ReLU: the share of units on)" if activation == "relu" else ""))
    right.set_xticks(depth)
    right.set_xlabel("layers gone back through (k)")
    right.set_ylabel("gradient multiplied by")
    right.set_title("the gradient, layer after layer back", fontsize=10)
    right.legend(fontsize=7, loc="lower left")
    right.grid(True, alpha=0.3)
    fig.suptitle("why sigmoid stalls: each layer multiplies the gradient by the activation's "
                 "slope, at most 1/4 for sigmoid", fontsize=11)
    return fig


def _mean_slopes(values, activation):
    """Each layer's average slope of its activation at the model's own values."""
    slopes = []
    for z in values.values():
        if activation == "sigmoid":
            s = 1 / (1 + np.exp(-z))
            slopes.append(float((s * (1 - s)).mean()))
        else:
            slopes.append(float((z > 0).mean()))
    return np.array(slopes)
