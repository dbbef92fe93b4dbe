"""Pictures of the model's insides, drawn from the learner's own trained model and real digits.

Numbers first, then the picture (as fastai does): each `show_...` function draws what a
companion function computes, and the companion returns the arrays for a learner to check.

    logits_and_probabilities / show_logits          01: softmax turns scores into probabilities
    weight_templates / show_weight_templates        01: the ten 28x28 templates a layer learned
    pre_activations / show_activation_slopes        02: why sigmoid stalls and ReLU does not
    shift_digit, shifted_predictions /
        show_shifted_digit                          03, 04: the same digit two pixels over
    filters_and_feature_maps / show_filters         04, 05: the first convolution's filters
    batch_norm_values / show_batch_norm             05: one layer before and after batch norm

Nothing here trains or changes the model: values come from calling its layers in inference
mode (training=False) with keras.ops, so it works on every Keras backend. The models are
keras.Sequential, as in the notebooks. Every figure is returned, never shown through pyplot.
"""
import keras
import numpy as np
from keras import ops

from mnist_utils._figures import new_figure

__all__ = ["batch_norm_values", "filters_and_feature_maps", "logits_and_probabilities",
           "pre_activations", "shift_digit", "shifted_predictions", "show_activation_slopes",
           "show_batch_norm", "show_filters", "show_logits", "show_shifted_digit",
           "show_weight_templates", "weight_templates"]

DIVERGING = "RdBu"      # blue: positive, white: zero, red: negative (always centred on zero)
WINNER, OTHERS, TRUE = "#1f77b4", "#b0b0b0", "#2ca02c"
SIGMOID, RELU = "#d62728", "#1f77b4"
DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


# --- Reading what the notebooks have -----------------------------------------------------------

def _check_model(model, who):
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"{who}() draws from a keras.Sequential model, as the notebooks build; "
                        f"got {type(model).__name__}")
    if not model.built or not model.layers:
        raise ValueError(f"{who}(): the model has no layers with weights yet; build it first "
                         "(start it with keras.Input(shape=(28, 28, 1))) and train it")


def _batch(model, images):
    """Digits as the model takes them: float32 in [0, 1], shaped like the model's input."""
    images = np.asarray(images, dtype=np.float32)
    if images.size % 784:
        raise ValueError(f"expected 28x28 digits, got an array of shape {images.shape}")
    if images.max(initial=0) > 1:
        images = images / 255.0
    return images.reshape((-1, *model.input_shape[1:]))


def _one_digit(model, image, who):
    batch = _batch(model, image)
    if len(batch) != 1:
        raise ValueError(f"{who}() draws one digit, got {len(batch)}: pass one of them, "
                         "e.g. images[0]")
    return batch


def _as_class(label):
    """An int label, or a one-hot vector of 10 -> int (None stays None)."""
    if label is None:
        return None
    label = np.asarray(label)
    return int(label.argmax()) if label.size == 10 else int(label.reshape(()))


def _numpy(tensor):
    """A backend tensor or a Keras variable (weights) as a NumPy array."""
    if isinstance(tensor, keras.Variable):
        return np.asarray(tensor.numpy())
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


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _bars(ax, values, highlight, color=WINNER):
    colors = [color if d == highlight else OTHERS for d in range(10)]
    bars = ax.bar(range(10), values, color=colors)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.grid(True, axis="y", alpha=0.3)
    return bars


def _digit(ax, image, title):
    ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray_r", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)


def _kind(model):
    convolutional = any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
    return "convolutional network" if convolutional else "dense network"


# --- 01: logits and softmax --------------------------------------------------------------------

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
    return _numpy(logits)[0].astype(np.float64), _numpy(probabilities)[0].astype(np.float64)


def show_logits(model, image, label=None):
    """One digit, its ten logits as bars, and beside them the probabilities softmax makes."""
    logits, probabilities = logits_and_probabilities(model, image)
    label, winner = _as_class(label), int(probabilities.argmax())
    fig = new_figure(figsize=(10, 3.3))
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 2.2, 2.2])
    _digit(fig.add_subplot(grid[0]), image, "the digit" + ("" if label is None else f" ({label})"))
    ax = fig.add_subplot(grid[1])
    _bars(ax, logits, winner)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title("logits: the scores X·W + b", fontsize=10)
    ax.set_ylabel("score")
    ax = fig.add_subplot(grid[2])
    bars = _bars(ax, probabilities, winner)
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
    kernel = _numpy(dense.kernel)
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


# --- 02: activation slopes ---------------------------------------------------------------------

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
    values, x = {}, ops.convert_to_tensor(_batch(model, images))
    for layer in model.layers:
        if any(layer is each for each in hidden):
            z = ops.matmul(x, layer.kernel) + (layer.bias if layer.use_bias else 0)
            values[layer.name] = _numpy(z)
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

    middle.hist(pooled, bins=np.linspace(-reach, reach, 81), color="#999999", alpha=0.45,
                density=True, label=f"your model's z ({activation}), {len(pooled):,} values")
    middle.set_yticks([])
    middle.set_ylabel("how often (histogram)", fontsize=8)
    slopes = middle.twinx()
    slopes.plot(z, sigmoid * (1 - sigmoid), color=SIGMOID, linewidth=2,
                label="sigmoid's slope: 1/4 at most")
    slopes.plot(z, (z > 0).astype(float), color=RELU, linewidth=2,
                label="ReLU's slope: 1 for z > 0")
    slopes.axhline(0.25, color=SIGMOID, linestyle=":", linewidth=1)
    slopes.set_ylim(-0.05, 1.35)
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
                   label=f"your {activation} model: product of\nthe average slope per layer")
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


# --- 03 and 04: a shifted digit ----------------------------------------------------------------

def shift_digit(image, shift=2, direction="right"):
    """The digit moved `shift` pixels (right, left, up or down), padded with black, not wrapped."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    if isinstance(shift, bool) or int(shift) != shift or not 0 <= shift < 28:
        raise ValueError(f"shift must be a whole number of pixels from 0 to 27, not {shift!r}")
    image = np.asarray(image, dtype=np.float32)
    pixels = image.reshape(28, 28)
    down, right = (int(shift) * step for step in DIRECTIONS[direction])
    padded = np.pad(pixels, int(shift))
    s = int(shift)
    moved = padded[s - down:s - down + 28, s - right:s - right + 28]
    return moved.reshape(image.shape)


def shifted_predictions(model, image, shift=2, direction="right"):
    """The model's ten probabilities for the digit, and for the same digit shifted."""
    _check_model(model, "shifted_predictions")
    batch = _one_digit(model, image, "show_shifted_digit")
    both = np.concatenate([batch, shift_digit(batch, shift, direction)])
    probabilities = _numpy(model(ops.convert_to_tensor(both), training=False))
    return probabilities[0].astype(np.float64), probabilities[1].astype(np.float64)


def show_shifted_digit(model, image, shift=2, *, direction="right", label=None):
    """The digit and the same digit shifted by `shift` pixels, with the model's probabilities."""
    before, after = shifted_predictions(model, image, shift, direction)
    pixels = np.asarray(image, dtype=np.float32).reshape(28, 28)
    pixels = pixels / 255.0 if pixels.max(initial=0) > 1 else pixels
    moved = shift_digit(pixels, shift, direction)
    lost = 1 - moved.sum() / max(pixels.sum(), 1e-9)
    label = _as_class(label)
    fig = new_figure(figsize=(10, 3.3))
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 1, 3])
    _digit(fig.add_subplot(grid[0]), pixels, "the digit" + ("" if label is None else f" ({label})"))
    _digit(fig.add_subplot(grid[1]), moved, f"{shift} pixels {direction}"
           + (f"\n({lost:.0%} of the ink lost)" if lost > 0.005 else ""))
    ax = fig.add_subplot(grid[2])
    digits = np.arange(10)
    ax.bar(digits - 0.2, before, width=0.4, color=WINNER, label="the digit")
    ax.bar(digits + 0.2, after, width=0.4, color="#ff7f0e", label=f"shifted {shift} {direction}")
    ax.set_xticks(digits)
    ax.set_xlabel("digit")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1.05)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    a, b = int(before.argmax()), int(after.argmax())
    ax.set_title(f"reads {a} ({before[a]:.0%}), shifted: {b} ({after[b]:.0%})", fontsize=10)
    fig.suptitle(f"the same digit, {shift} pixels further {direction}, read by a {_kind(model)}",
                 fontsize=11)
    return fig


# --- 04 and 05: filters and feature maps -------------------------------------------------------

def filters_and_feature_maps(model, image, layer=None):
    """A Conv2D layer's filters (k, k, channels in, filters) and its output for one digit
    (height, width, filters). Default: the first Conv2D layer."""
    _check_model(model, "filters_and_feature_maps")
    conv = _find_layer(model, layer, (keras.layers.Conv2D,), "filters_and_feature_maps")
    if not isinstance(conv, keras.layers.Conv2D):
        raise ValueError(f"layer {conv.name!r} is a {type(conv).__name__}, not a Conv2D layer")
    _, maps = _layer_values(model, _one_digit(model, image, "show_filters"), conv)
    return _numpy(conv.kernel), _numpy(maps)[0]


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
    _digit(fig.add_subplot(grid[:2, 0]), _batch(model, image), "the digit")
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


# --- 05: batch normalisation -------------------------------------------------------------------

def _batch_norm_layer(model, layer, who):
    found = _find_layer(model, layer, (keras.layers.BatchNormalization,), who)
    if isinstance(found, keras.layers.BatchNormalization):
        return found
    after = model.layers[model.layers.index(found) + 1:][:1]
    if after and isinstance(after[0], keras.layers.BatchNormalization):
        return after[0]
    raise ValueError(f"{who}(): layer {found.name!r} is not batch normalisation, nor followed "
                     "by it")


def batch_norm_values(model, images, layer=None):
    """A BatchNormalization layer's input and output on these digits, in inference mode.

    Returns (before, after), each of shape (n, ..., channels). Default: the first one.
    """
    _check_model(model, "batch_norm_values")
    norm = _batch_norm_layer(model, layer, "batch_norm_values")
    before, after = _layer_values(model, _batch(model, images), norm)
    return _numpy(before), _numpy(after)


def show_batch_norm(model, images, layer=None):
    """One layer's values before its activation, without and with batch normalisation, per
    channel over a batch of digits."""
    before, after = batch_norm_values(model, images, layer)
    norm = _batch_norm_layer(model, layer, "show_batch_norm")
    channels = before.shape[-1]
    shown = min(channels, 32)
    fig = new_figure(figsize=(12, 3.9))
    left, right = fig.subplots(1, 2)
    positions = np.arange(shown)
    for ax, values, title in [
            (left, before, f"without: the input of {norm.name!r} (the layer's raw output)"),
            (right, after, f"with: the output of {norm.name!r} (what the activation reads)")]:
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
    beta = _numpy(norm.beta)[:shown] if norm.center else np.zeros(shown)
    right.plot(positions, beta, "D", color="#ff7f0e", markersize=5,
               label="β: the mean batch norm learned")
    left.legend(fontsize=8, loc="upper right")
    right.legend(fontsize=8, loc="upper right")
    n = before.shape[0]
    fig.suptitle(f"batch normalisation centres and scales each channel ({n:,} digits). "
                 "Predicting (training=False), it uses the moving mean and variance it "
                 "kept during training", fontsize=10)
    return fig
