"""Notebook 05: one layer's values before its activation, without and with batch
normalisation."""
import keras
import numpy as np

from mnist_utils._figures import new_figure
from mnist_utils._insides_common import (
    activation_name,
    as_batch,
    check_model,
    find_layer,
    layer_values,
    to_numpy,
)


def _batch_norm_layer(model, layer, who):
    found = find_layer(model, layer, (keras.layers.BatchNormalization,), who)
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
    if following and activation_name(following[0]) == "relu":
        return "ReLU reads it: below 0 becomes 0"
    return "what the next layer reads"


def batch_norm_values(model, images, layer=None):
    """A BatchNormalization layer's input and output on these digits, in inference mode.

    Returns (before, after), each of shape (n, ..., channels). Default: the first one.
    """
    check_model(model, "batch_norm_values")
    norm = _batch_norm_layer(model, layer, "batch_norm_values")
    before, after = layer_values(model, as_batch(model, images), norm)
    return to_numpy(before), to_numpy(after)


def show_batch_norm(model, images, layer=None):
    """One layer's values before its activation, without and with batch normalisation, per
    channel over a batch of digits.

    A model with no batch normalisation at all (notebook 05's exercise 1 takes it out) gets a
    printed note instead of a picture, so that running the whole notebook still works."""
    check_model(model, "show_batch_norm")
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
    beta = to_numpy(norm.beta)[:shown] if norm.center else np.zeros(shown)
    right.plot(positions, beta, "D", color="#ff7f0e", markersize=5,
               label="β: the mean batch norm learned")
    low, high = left.get_ylim()                   # room above the bars for the legend
    left.set_ylim(low, high + 0.3 * (high - low))
    for ax in (left, right):
        ax.legend(fontsize=8, loc="upper center", ncol=2)
    n = before.shape[0]
    fig.suptitle(f"batch normalisation centres and scales each channel ({n:,} digits)\n"
                 "predicting (training=False), it uses the moving mean and variance it "
                 "kept during training, not those of these digits", fontsize=10)
    return fig
