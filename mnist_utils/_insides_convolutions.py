"""Notebooks 04 and 05: a convolution's filters, its feature maps, and one step of it."""
from typing import NamedTuple

import keras
import numpy as np
from matplotlib.patches import Rectangle

from mnist_utils._figures import new_figure
from mnist_utils._insides_common import (
    DIVERGING,
    activation_name,
    as_batch,
    check_model,
    draw_digit,
    find_layer,
    layer_values,
    one_digit,
    to_numpy,
)


def filters_and_feature_maps(model, image, layer=None):
    """A Conv2D layer's filters (k, k, channels in, filters) and its output for one digit
    (height, width, filters). Default: the first Conv2D layer."""
    check_model(model, "filters_and_feature_maps")
    conv = find_layer(model, layer, (keras.layers.Conv2D,), "filters_and_feature_maps")
    if not isinstance(conv, keras.layers.Conv2D):
        raise ValueError(f"layer {conv.name!r} is a {type(conv).__name__}, not a Conv2D layer")
    _, maps = layer_values(model, one_digit(model, image, "show_filters"), conv)
    return to_numpy(conv.kernel), to_numpy(maps)[0]


def _after_conv(model, conv):
    """Words for what the conv layer's output is: after its activation, or before BN/ReLU."""
    activation = activation_name(conv)
    if activation != "linear":
        return f"after {'ReLU' if activation == 'relu' else activation}"
    following = model.layers[model.layers.index(conv) + 1:][:2]
    names = [("batch normalisation" if isinstance(each, keras.layers.BatchNormalization)
              else activation_name(each).replace("relu", "ReLU")) for each in following
             if isinstance(each, (keras.layers.BatchNormalization, keras.layers.Activation))]
    return "the raw convolution" + (f", before {' and '.join(names)}" if names else "")


def show_filters(model, image, layer=None):
    """A Conv2D layer's filters (blue +, red −) above their feature maps on one digit."""
    kernel, maps = filters_and_feature_maps(model, image, layer)
    conv = find_layer(model, layer, (keras.layers.Conv2D,), "show_filters")
    size, count = kernel.shape[0], kernel.shape[-1]
    columns = min(count, 8)
    blocks = -(-count // columns)
    fig = new_figure(figsize=(1.9 + 1.1 * columns + 1.3, 2.3 * blocks + 0.6))
    grid = fig.add_gridspec(2 * blocks, columns + 3,
                            width_ratios=[1.7] + [1] * columns + [0.12, 0.12])
    draw_digit(fig.add_subplot(grid[:2, 0]), as_batch(model, image), "the digit")
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
    check_model(model, "convolution_step")
    conv = find_layer(model, layer, (keras.layers.Conv2D,), "convolution_step")
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
    inputs, _ = layer_values(model, one_digit(model, image, "show_convolution"), conv)
    pixels = to_numpy(inputs)[0, :, :, 0]
    top, left = (_patch_start(i, k, stride, size) for i, stride, size in
                 zip((row, column), conv.strides, pixels.shape))
    padded = np.pad(pixels, k)                       # zeros where the filter hangs off the edge
    patch = padded[top + k:top + 2 * k, left + k:left + 2 * k]
    weights = kernel[:, :, 0, filter]
    bias = float(to_numpy(conv.bias)[filter]) if conv.use_bias else 0.0
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
    conv = find_layer(model, layer, (keras.layers.Conv2D,), "show_convolution")
    k = len(step.weights)
    row, column = step.at
    top, left = (_patch_start(i, k, stride, 28) for i, stride in zip(step.at, conv.strides))
    fig = new_figure(figsize=(13, 3.4))
    axes = fig.subplots(1, 5, width_ratios=[1.1, 1, 1, 1, 1.1])
    draw_digit(axes[0], as_batch(model, image), f"the digit: a {k}×{k} patch")
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
    activation = activation_name(conv)
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
