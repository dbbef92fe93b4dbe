"""Notebooks 03 and 04: the same digit a few pixels over, read by a dense network and by a
convolutional one."""
import numpy as np
from keras import ops

from mnist_utils._figures import new_figure
from mnist_utils._insides_common import (
    DIRECTIONS,
    WINNER,
    as_batch,
    as_class,
    check_model,
    draw_digit,
    network_kind,
    one_digit,
    to_numpy,
)


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
    check_model(model, "shifted_predictions")
    batch = one_digit(model, image, "show_shifted_digit")
    both = np.concatenate([batch, shift_digit(batch, shift, direction)])
    probabilities = to_numpy(model(ops.convert_to_tensor(both), training=False))
    return probabilities[0].astype(np.float64), probabilities[1].astype(np.float64)


def shifted_accuracy(model, images, labels, shift=2, direction="right"):
    """The model's accuracy on these digits as they are, and on the same digits shifted."""
    check_model(model, "shifted_accuracy")
    batch = as_batch(model, images)
    labels = np.asarray(labels)
    labels = labels.argmax(axis=-1) if labels.ndim == 2 else labels.astype(int)
    if len(labels) != len(batch):
        raise ValueError(f"shifted_accuracy(): {len(batch)} digits but {len(labels)} labels")
    moved = shift_digit(batch, shift, direction)
    right = []
    for digits in (batch, moved):
        predicted = np.concatenate([   # model(...) directly: no predict function to compile
            to_numpy(model(ops.convert_to_tensor(digits[i:i + 500]), training=False))
            for i in range(0, len(digits), 500)]).argmax(axis=-1)
        right.append(float((predicted == labels).mean()))
    return right[0], right[1]


def show_shifted_digit(model, image, shift=2, *, direction="right", label=None, digits=None):
    """The digit and the same digit shifted by `shift` pixels, with the model's probabilities;
    with digits=(images, labels), also its accuracy on all of them, as they are and shifted."""
    before, after = shifted_predictions(model, image, shift, direction)
    pixels = np.asarray(image, dtype=np.float32).reshape(28, 28)
    pixels = pixels / 255.0 if pixels.max(initial=0) > 1 else pixels
    moved = shift_digit(pixels, shift, direction)
    lost = 1 - moved.sum() / max(pixels.sum(), 1e-9)
    label = as_class(label)
    fig = new_figure(figsize=(10 + 1.6 * (digits is not None), 3.3))
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 3, 1.1 if digits is not None else 0.001])
    named = "the digit" + ("" if label is None else f" ({label})")
    draw_digit(fig.add_subplot(grid[0]), pixels, named)
    draw_digit(fig.add_subplot(grid[1]), moved, f"{shift} pixels {direction}"
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
                 f"{network_kind(model)}",
                 fontsize=11)
    return fig
