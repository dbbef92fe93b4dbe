"""Pictures of the model's insides, drawn from the learner's own trained model and real digits.

Numbers first, then the picture (as fastai does): each `show_...` function draws what a
companion function computes, and the companion returns the arrays for a learner to check.

    logits_and_probabilities / show_logits          01: softmax turns scores into probabilities
    weight_templates / show_weight_templates        01: the ten 28x28 templates a layer learned
    pre_activations / show_activation_slopes        02: why sigmoid stalls and ReLU does not
    shift_digit, shifted_predictions,
        shifted_accuracy / show_shifted_digit       03, 04: the same digits two pixels over
    filters_and_feature_maps / show_filters         04, 05: the first convolution's filters
    convolution_step / show_convolution             04: one output value, patch × filter
    batch_norm_values / show_batch_norm             05: one layer before and after batch norm

Nothing here trains or changes the model: values come from calling its layers in inference
mode (training=False) with keras.ops, so it works on every Keras backend. The models are
keras.Sequential, as in the notebooks. Every figure is returned, never shown through pyplot.
Sections by notebook, in the order above; what they share comes first.
"""
from typing import NamedTuple

import keras
import numpy as np
from keras import ops
from matplotlib.patches import Rectangle

from mnist_utils.data import as_classes, as_images
from mnist_utils.plots import new_figure

__all__ = ["ConvolutionStep", "batch_norm_values", "convolution_step",
           "filters_and_feature_maps", "logits_and_probabilities", "pre_activations",
           "shift_digit", "shifted_accuracy", "shifted_predictions", "show_activation_slopes",
           "show_batch_norm", "show_convolution", "show_filters", "show_logits",
           "show_shifted_digit", "show_weight_templates", "weight_templates"]

# --- What every picture of the insides needs -----------------------------------------------------

DIVERGING = "RdBu"      # blue: positive, white: zero, red: negative (always centred on zero)
WINNER, OTHERS = "#1f77b4", "#b0b0b0"
SIGMOID, RELU = "#ff7f0e", "#1f77b4"  # orange and blue: apart in greyscale too
DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


def _check_model(model, who):
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"{who}() draws from a keras.Sequential model, as the notebooks build; "
                        f"got {type(model).__name__}")
    if not model.built or not model.layers:
        raise ValueError(f"{who}(): the model has no layers with weights yet; build it first "
                         "(start it with keras.Input(shape=(28, 28, 1))) and train it")


def _as_batch(model, images):
    """Digits as the model takes them: float32 in [0, 1], shaped like the model's input."""
    return as_images(images, shape=(-1, *model.input_shape[1:]))


def _one_digit(model, image, who):
    batch = _as_batch(model, image)
    if len(batch) != 1:
        raise ValueError(f"{who}() draws one digit, got {len(batch)}: pass one of them, "
                         "e.g. images[0]")
    return batch


def _as_class(label):
    """An int label, or a one-hot vector of 10 -> int (None stays None)."""
    if label is None:
        return None
    label = np.asarray(label)
    return int(as_classes(label.reshape(1, 10) if label.size == 10 else label.reshape(1))[0])


def _to_numpy(tensor):
    """A backend tensor or a Keras variable (weights) as a NumPy array."""
    if isinstance(tensor, keras.Variable):
        tensor = ops.copy(tensor)    # NumPy 2 warns when it converts a variable directly
    return np.asarray(ops.convert_to_numpy(tensor))


def _find_layer(model, layer, kinds, who):
    """`layer` (an index, a name or a layer of the model), or the first layer of `kinds`."""
    if layer is None:
        found = next((each for each in model.layers if isinstance(each, kinds)), None)
        if found is None:
            names = " or ".join(kind.__name__ for kind in kinds)
            raise ValueError(f"{who}(): the model has no {names} layer")
        return found
    if isinstance(layer, int):
        return model.layers[layer]
    if isinstance(layer, str):
        return model.get_layer(layer)
    if not any(layer is each for each in model.layers):
        raise ValueError(f"{who}(): layer {layer.name!r} is not a layer of this model")
    return layer


def _layer_values(model, batch, layer):
    """The input and the output of `layer` when the model reads `batch` (inference mode)."""
    x = ops.convert_to_tensor(batch)
    for each in model.layers:
        y = each(x, training=False)
        if each is layer:
            return x, y
        x = y
    raise ValueError(f"layer {layer.name!r} is not a layer of this model")


def _activation_name(layer):
    return getattr(getattr(layer, "activation", None), "__name__", "linear")


def _draw_bars(ax, values, highlight):
    """Ten bars, one per digit, the `highlight` one in colour."""
    colors = [WINNER if d == highlight else OTHERS for d in range(10)]
    bars = ax.bar(range(10), values, color=colors)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.grid(True, axis="y", alpha=0.3)
    return bars


def _draw_digit(ax, image, title):
    ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray_r", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)


def _network_kind(model):
    convolutional = any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
    return "convolutional network" if convolutional else "dense network"


# --- 01: one digit's logits and softmax probabilities; the ten weight templates ------------------

def logits_and_probabilities(model, image):
    """One digit's ten logits (the last layer's scores before softmax) and its probabilities."""
    _check_model(model, "logits_and_probabilities")
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense) or _activation_name(last) != "softmax":
        raise ValueError("logits_and_probabilities(): the model's last layer must be "
                         'keras.layers.Dense(10, activation="softmax"), as in the notebooks')
    x, probabilities = _layer_values(model, _one_digit(model, image, "show_logits"), last)
    logits = ops.matmul(x, last.kernel)
    if last.use_bias:
        logits = logits + last.bias
    return _to_numpy(logits)[0].astype(np.float64), _to_numpy(probabilities)[0].astype(np.float64)


def show_logits(model, image, label=None):
    """One digit, its ten logits as bars, and beside them the probabilities softmax makes."""
    logits, probabilities = logits_and_probabilities(model, image)
    label, winner = _as_class(label), int(probabilities.argmax())
    fig = new_figure(figsize=(10, 3.3))
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 2.2, 2.2])
    named = "the digit" + ("" if label is None else f" ({label})")
    _draw_digit(fig.add_subplot(grid[0]), image, named)
    ax = fig.add_subplot(grid[1])
    _draw_bars(ax, logits, winner)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title("logits: the scores X·W + b", fontsize=10)
    ax.set_ylabel("score")
    ax = fig.add_subplot(grid[2])
    bars = _draw_bars(ax, probabilities, winner)
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
    _check_model(model, "weight_templates")
    dense = _find_layer(model, None, (keras.layers.Dense,), "weight_templates")
    kernel = _to_numpy(dense.kernel)
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


# --- 02: why sigmoid stalls: the activations' slopes at the model's own values -------------------

def pre_activations(model, images):
    """Each hidden Dense layer's values before its sigmoid or ReLU, on these digits.

    Returns {layer name: array (n digits, units)}: X·W + b, what the activation then reads.
    """
    _check_model(model, "pre_activations")
    hidden = [layer for layer in model.layers[:-1] if isinstance(layer, keras.layers.Dense)
              and _activation_name(layer) in ("sigmoid", "relu")]
    if not hidden:
        raise ValueError('pre_activations(): the model has no hidden Dense layer with '
                         'activation="sigmoid" or "relu"')
    values, x = {}, ops.convert_to_tensor(_as_batch(model, images))
    for layer in model.layers:
        if any(layer is each for each in hidden):
            z = ops.matmul(x, layer.kernel) + (layer.bias if layer.use_bias else 0)
            values[layer.name] = _to_numpy(z)
        x = layer(x, training=False)
        if len(values) == len(hidden):
            break
    return values


def show_activation_slopes(model, images):
    """Sigmoid's and ReLU's curves and slopes, where the model's own values fall, and what
    multiplying by a slope of at most 1/4 at every layer does to the gradient."""
    values = pre_activations(model, images)
    activation = _activation_name(model.get_layer(next(iter(values))))
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


# --- 03, 04: the same digit a few pixels over, read by dense and convolutional networks ----------

def shift_digit(image, shift=2, direction="right"):
    """The digit (or digits) moved `shift` pixels right, left, up or down: what leaves the
    28x28 image is lost and black comes in (padded, not wrapped round)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    if isinstance(shift, bool) or int(shift) != shift or not 0 <= shift < 28:
        raise ValueError(f"shift must be a whole number of pixels from 0 to 27, not {shift!r}")
    image = np.asarray(image, dtype=np.float32)
    if image.size % 784:
        raise ValueError(f"expected 28x28 digits, got an array of shape {image.shape}")
    s = int(shift)
    down, right = (s * step for step in DIRECTIONS[direction])
    padded = np.pad(image.reshape(-1, 28, 28), ((0, 0), (s, s), (s, s)))
    moved = padded[:, s - down:s - down + 28, s - right:s - right + 28]
    return moved.reshape(image.shape)


def shifted_predictions(model, image, shift=2, direction="right"):
    """The model's ten probabilities for the digit, and for the same digit shifted."""
    _check_model(model, "shifted_predictions")
    batch = _one_digit(model, image, "show_shifted_digit")
    both = np.concatenate([batch, shift_digit(batch, shift, direction)])
    probabilities = _to_numpy(model(ops.convert_to_tensor(both), training=False))
    return probabilities[0].astype(np.float64), probabilities[1].astype(np.float64)


def shifted_accuracy(model, images, labels, shift=2, direction="right"):
    """The model's accuracy on these digits as they are, and on the same digits shifted."""
    _check_model(model, "shifted_accuracy")
    batch = _as_batch(model, images)
    labels = as_classes(labels)
    if len(labels) != len(batch):
        raise ValueError(f"shifted_accuracy(): {len(batch)} digits but {len(labels)} labels")
    moved = shift_digit(batch, shift, direction)
    right = []
    for digits in (batch, moved):
        predicted = np.concatenate([   # model(...) directly: no predict function to compile
            _to_numpy(model(ops.convert_to_tensor(digits[i:i + 500]), training=False))
            for i in range(0, len(digits), 500)]).argmax(axis=-1)
        right.append(float((predicted == labels).mean()))
    return right[0], right[1]


def show_shifted_digit(model, image, shift=2, *, direction="right", label=None, digits=None):
    """The digit and the same digit shifted by `shift` pixels, with the model's probabilities;
    with digits=(images, labels), also its accuracy on all of them, as they are and shifted."""
    before, after = shifted_predictions(model, image, shift, direction)
    pixels = as_images(image, shape=(28, 28))
    moved = shift_digit(pixels, shift, direction)
    lost = 1 - moved.sum() / max(pixels.sum(), 1e-9)
    label = _as_class(label)
    fig = new_figure(figsize=(10 + 1.6 * (digits is not None), 3.3))
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 3, 1.1 if digits is not None else 0.001])
    named = "the digit" + ("" if label is None else f" ({label})")
    _draw_digit(fig.add_subplot(grid[0]), pixels, named)
    _draw_digit(fig.add_subplot(grid[1]), moved, f"{shift} pixels {direction}"
            + (f"\n({lost:.0%} of the ink lost)" if lost > 0.005 else ""))
    ax = fig.add_subplot(grid[2])
    classes = np.arange(10)
    ax.bar(classes - 0.2, before, width=0.4, color=WINNER, label="the digit")
    ax.bar(classes + 0.2, after, width=0.4, color="#ff7f0e", label=f"shifted {shift} {direction}")
    ax.set_xticks(classes)
    ax.set_xlabel("digit")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1.25)                          # room for the legend above the bars
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1])
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    a, b = int(before.argmax()), int(after.argmax())
    ax.set_title(f"reads {a} ({before[a]:.0%}), shifted: {b} ({after[b]:.0%})", fontsize=10)
    if digits is not None:
        images, labels = digits
        rates = shifted_accuracy(model, images, labels, shift, direction)
        ax = fig.add_subplot(grid[3])
        bars = ax.bar([0, 1], rates, color=[WINNER, "#ff7f0e"], width=0.6)
        ax.bar_label(bars, [f"{rate:.1%}" for rate in rates], fontsize=9)
        ax.set_xticks([0, 1], ["as they\nare", "shifted"])
        ax.set_ylim(0, 1.12)
        ax.set_yticks([0, 0.5, 1])
        ax.set_title(f"accuracy on\n{len(labels):,} digits", fontsize=10)
    fig.suptitle(f"the same digit, {shift} pixels further {direction}, read by a "
                 f"{_network_kind(model)}",
                 fontsize=11)
    return fig


# --- 04, 05: a convolution's filters, its feature maps, and one step of it -----------------------

def filters_and_feature_maps(model, image, layer=None):
    """A Conv2D layer's filters (k, k, channels in, filters) and its output for one digit
    (height, width, filters). Default: the first Conv2D layer."""
    _check_model(model, "filters_and_feature_maps")
    conv = _find_layer(model, layer, (keras.layers.Conv2D,), "filters_and_feature_maps")
    if not isinstance(conv, keras.layers.Conv2D):
        raise ValueError(f"layer {conv.name!r} is a {type(conv).__name__}, not a Conv2D layer")
    _, maps = _layer_values(model, _one_digit(model, image, "show_filters"), conv)
    return _to_numpy(conv.kernel), _to_numpy(maps)[0]


def _after_conv(model, conv):
    """Words for what the conv layer's output is: after its activation, or before BN/ReLU."""
    activation = _activation_name(conv)
    if activation != "linear":
        return f"after {'ReLU' if activation == 'relu' else activation}"
    following = model.layers[model.layers.index(conv) + 1:][:2]
    names = [("batch normalisation" if isinstance(each, keras.layers.BatchNormalization)
              else _activation_name(each).replace("relu", "ReLU")) for each in following
             if isinstance(each, (keras.layers.BatchNormalization, keras.layers.Activation))]
    return "the raw convolution" + (f", before {' and '.join(names)}" if names else "")


def show_filters(model, image, layer=None):
    """A Conv2D layer's filters (blue +, red −) above their feature maps on one digit."""
    kernel, maps = filters_and_feature_maps(model, image, layer)
    conv = _find_layer(model, layer, (keras.layers.Conv2D,), "show_filters")
    size, count = kernel.shape[0], kernel.shape[-1]
    columns = min(count, 8)
    blocks = -(-count // columns)
    fig = new_figure(figsize=(1.9 + 1.1 * columns + 1.3, 2.3 * blocks + 0.6))
    grid = fig.add_gridspec(2 * blocks, columns + 3,
                            width_ratios=[1.7] + [1] * columns + [0.12, 0.12])
    _draw_digit(fig.add_subplot(grid[:2, 0]), _as_batch(model, image), "the digit")
    weights = kernel[:, :, 0, :]                 # the first input channel (the only one at first)
    w_limit = float(np.abs(weights).max()) or 1.0
    m_limit = float(np.abs(maps).max()) or 1.0
    for i in range(count):
        row, column = 2 * (i // columns), 1 + i % columns
        ax = fig.add_subplot(grid[row, column])
        w_shown = ax.imshow(weights[:, :, i], cmap=DIVERGING, vmin=-w_limit, vmax=w_limit,
                            interpolation="nearest")
        ax.set_title(f"filter {i}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax = fig.add_subplot(grid[row + 1, column])
        m_shown = ax.imshow(maps[:, :, i], cmap=DIVERGING, vmin=-m_limit, vmax=m_limit,
                            interpolation="nearest")
        ax.set_title(f"its map {i}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for column, shown, label in [(-2, w_shown, "filter weight"), (-1, m_shown, "map value")]:
        bar = fig.colorbar(shown, cax=fig.add_subplot(grid[:, column]))
        bar.set_label(label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    channels = "" if kernel.shape[2] == 1 else f" (input channel 0 of {kernel.shape[2]})"
    fig.suptitle(f"layer {conv.name!r}: {count} filters of {size}×{size}{channels}, and their "
                 f"feature maps ({maps.shape[0]}×{maps.shape[1]}) on this digit: "
                 f"{_after_conv(model, conv)}", fontsize=10)
    return fig


class ConvolutionStep(NamedTuple):
    """One output value of a convolution, and the numbers that made it."""
    filter: int              # which filter of the layer
    patch: np.ndarray        # (k, k): the pixels under the filter (0 where it hangs off the edge)
    weights: np.ndarray      # (k, k): the filter
    products: np.ndarray     # (k, k): patch × weights, pixel by pixel
    bias: float
    value: float             # products.sum() + bias
    output: float            # what the layer outputs there (after its activation, if any)
    at: tuple                # (row, column) in the feature map
    feature_map: np.ndarray  # (height, width): the whole feature map of this filter


def convolution_step(model, image, filter=None, at=None, layer=None):
    """How a Conv2D layer computes one value of one feature map: a patch of the digit times
    the filter, summed, plus the bias. Defaults: the first Conv2D layer, the filter that
    responds most to this digit, and where its feature map is strongest. Only for a layer
    that reads one channel (the first one)."""
    _check_model(model, "convolution_step")
    conv = _find_layer(model, layer, (keras.layers.Conv2D,), "convolution_step")
    kernel, maps = filters_and_feature_maps(model, image, conv)
    k, _, channels, count = kernel.shape
    if channels != 1:
        raise ValueError(f"convolution_step(): layer {conv.name!r} reads {channels} channels; "
                         "the picture is for a layer that reads the digit itself (the first)")
    if filter is None:
        filter = int(np.abs(maps).mean(axis=(0, 1)).argmax())
    if not 0 <= filter < count:
        raise ValueError(f"filter must be from 0 to {count - 1}, not {filter!r}")
    feature_map = maps[:, :, filter]
    if at is None:
        at = np.unravel_index(np.abs(feature_map).argmax(), feature_map.shape)
    row, column = (int(i) for i in at)
    inputs, _ = _layer_values(model, _one_digit(model, image, "show_convolution"), conv)
    pixels = _to_numpy(inputs)[0, :, :, 0]
    top, left = (_patch_start(i, k, stride, size) for i, stride, size in
                 zip((row, column), conv.strides, pixels.shape))
    padded = np.pad(pixels, k)                       # zeros where the filter hangs off the edge
    patch = padded[top + k:top + 2 * k, left + k:left + 2 * k]
    weights = kernel[:, :, 0, filter]
    bias = float(_to_numpy(conv.bias)[filter]) if conv.use_bias else 0.0
    products = patch * weights
    return ConvolutionStep(filter, patch, weights, products, bias, float(products.sum()) + bias,
                           float(feature_map[row, column]), (row, column), feature_map)


def _patch_start(index, k, stride, size):
    """The first input row (or column) under the filter for output `index`, as Keras pads."""
    out = -(-size // stride)
    pad = max((out - 1) * stride + k - size, 0) // 2
    return index * stride - pad


def show_convolution(model, image, filter=None, at=None, layer=None):
    """One value of a feature map, step by step: patch × filter, summed, plus the bias."""
    step = convolution_step(model, image, filter, at, layer)
    conv = _find_layer(model, layer, (keras.layers.Conv2D,), "show_convolution")
    k = len(step.weights)
    row, column = step.at
    top, left = (_patch_start(i, k, stride, 28) for i, stride in zip(step.at, conv.strides))
    fig = new_figure(figsize=(13, 3.4))
    axes = fig.subplots(1, 5, width_ratios=[1.1, 1, 1, 1, 1.1])
    _draw_digit(axes[0], _as_batch(model, image), f"the digit: a {k}×{k} patch")
    axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), k, k, fill=False, edgecolor="#ff7f0e",
                                linewidth=2))
    limit = float(np.abs(step.weights).max()) or 1.0
    product_limit = float(np.abs(step.products).max()) or 1.0
    for ax, values, cmap, low, title in [
            (axes[1], step.patch, "gray_r", 0, "the patch's pixels"),
            (axes[2], step.weights, DIVERGING, -limit, f"× filter {step.filter}"),
            (axes[3], step.products, DIVERGING, -product_limit, "= pixel × weight")]:
        ax.imshow(values, cmap=cmap, vmin=low, vmax=1 if low == 0 else -low,
                  interpolation="nearest")
        _numbers(ax, values, fontsize=9 if k <= 3 else 7 if k <= 5 else 5)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    edge = float(np.abs(step.feature_map).max()) or 1.0
    axes[4].imshow(step.feature_map, cmap=DIVERGING, vmin=-edge, vmax=edge,
                   interpolation="nearest")
    axes[4].add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False,
                                edgecolor="#ff7f0e", linewidth=2))
    axes[4].set_title(f"= feature map {step.filter}: {step.output:.2f}\n"
                      f"at row {row}, column {column}", fontsize=10)
    axes[4].set_xticks([])
    axes[4].set_yticks([])
    activation = _activation_name(conv)
    after = "" if activation == "linear" else (
        f", then {'ReLU' if activation == 'relu' else activation}: {step.output:.2f}")
    fig.suptitle(f"one step of a convolution: the products add up to "
                 f"{step.products.sum():.2f}, + bias {step.bias:.2f} = {step.value:.2f}{after}\n"
                 "the same filter slides over every patch of the digit: one set of "
                 f"{k}×{k} weights (and a bias) for the whole image", fontsize=10)
    return fig


def _numbers(ax, values, fontsize):
    """Write each cell's value on it, in black or white, whichever reads better."""
    limit = float(np.abs(values).max()) or 1.0
    for (r, c), value in np.ndenumerate(values):
        ax.text(c, r, "0" if abs(value) < 0.005 else f"{value:.2f}", ha="center",
                va="center", fontsize=fontsize,
                color="white" if abs(value) > 0.6 * limit else "black")


# --- 05: one layer's values before its activation, without and with batch norm -------------------

def _batch_norm_layer(model, layer, who):
    found = _find_layer(model, layer, (keras.layers.BatchNormalization,), who)
    if isinstance(found, keras.layers.BatchNormalization):
        return found
    after = model.layers[model.layers.index(found) + 1:][:1]
    if after and isinstance(after[0], keras.layers.BatchNormalization):
        return after[0]
    raise ValueError(f"{who}(): layer {found.name!r} is not batch normalisation, nor followed "
                     "by it")


def _read_by(model, norm):
    """What reads the batch norm's output: "ReLU reads it: below 0 becomes 0", or similar."""
    following = model.layers[model.layers.index(norm) + 1:][:1]
    if following and _activation_name(following[0]) == "relu":
        return "ReLU reads it: below 0 becomes 0"
    return "what the next layer reads"


def batch_norm_values(model, images, layer=None):
    """A BatchNormalization layer's input and output on these digits, in inference mode.

    Returns (before, after), each of shape (n, ..., channels). Default: the first one.
    """
    _check_model(model, "batch_norm_values")
    norm = _batch_norm_layer(model, layer, "batch_norm_values")
    before, after = _layer_values(model, _as_batch(model, images), norm)
    return _to_numpy(before), _to_numpy(after)


def show_batch_norm(model, images, layer=None):
    """One layer's values before its activation, without and with batch normalisation, per
    channel over a batch of digits.

    A model with no batch normalisation at all (notebook 05's exercise 1 takes it out) gets a
    printed note instead of a picture, so that running the whole notebook still works."""
    _check_model(model, "show_batch_norm")
    if layer is None and not any(isinstance(found, keras.layers.BatchNormalization)
                                 for found in model.layers):
        print("This model has no BatchNormalization layer (exercise 1 took them out?): "
              "no picture of what batch normalisation does.")
        return None
    before, after = batch_norm_values(model, images, layer)
    norm = _batch_norm_layer(model, layer, "show_batch_norm")
    channels = before.shape[-1]
    shown = min(channels, 32)
    fig = new_figure(figsize=(12, 3.9))
    left, right = fig.subplots(1, 2, sharey=True)  # one scale: the spreads compare at a glance
    positions = np.arange(shown)
    for ax, values, title in [
            (left, before, f"without: the input of {norm.name!r} (the layer's raw output)"),
            (right, after, f"with: the output of {norm.name!r} ({_read_by(model, norm)})")]:
        columns = values.reshape(-1, channels)[:, :shown]
        mean, std = columns.mean(axis=0), columns.std(axis=0)
        ax.errorbar(positions, mean, yerr=std, fmt="o", color="#1f77b4", ecolor="#1f77b4",
                    elinewidth=6, alpha=0.6, markersize=5, capsize=0,
                    label="mean ± standard deviation")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(positions[::max(1, shown // 16)])
        ax.set_xlabel("channel" + ("" if shown == channels else f" (first {shown} of {channels})"))
        ax.set_title(f"{title}\nstandard deviations {std.min():.2g} to {std.max():.2g}",
                     fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    left.set_ylabel("value over all digits and pixels", fontsize=9)
    beta = _to_numpy(norm.beta)[:shown] if norm.center else np.zeros(shown)
    right.plot(positions, beta, "D", color="#ff7f0e", markersize=5, markeredgecolor="black",
               markeredgewidth=0.8, label="β: the mean batch norm learned")  # edged: greyscale
    low, high = left.get_ylim()                   # room above the bars for the legend
    left.set_ylim(low, high + 0.3 * (high - low))
    for ax in (left, right):
        ax.legend(fontsize=8, loc="upper center", ncol=2)
    n = before.shape[0]
    fig.suptitle(f"batch normalisation centres and scales each channel ({n:,} digits)\n"
                 "predicting (training=False), it uses the moving mean and variance it "
                 "kept during training, not those of these digits", fontsize=10)
    return fig
