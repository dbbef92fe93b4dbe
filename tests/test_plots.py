"""Tests for mnist_utils.plots: the numbers (confusion counts, mistakes) and the pictures that draw
them; each picture is drawn, checked, and saved to tests/output/*.png.

Look at the PNGs: a plot can pass every check here and still be ugly or unreadable.
"""
import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import captions, is_red, save  # noqa: E402

import mnist_utils  # noqa: E402
from mnist_utils import (  # noqa: E402
    Mistakes,
    confusion_counts,
    mistakes,
    plot_confusion_matrix,
    plot_learning_rate,
    show_digits,
    show_mistakes,
)

pytestmark = pytest.mark.filterwarnings("error")


# --- digits ------------------------------------------------------------------------------------

def test_show_digits_shows_labels_in_a_normal_colour(mnist_small):
    x, y = mnist_small[2][:25], mnist_small[3][:25]
    fig = show_digits(x.reshape(25, 784), y, title="The first 25 test digits")
    save(fig, "show_digits_labels")
    assert len(fig.axes) == 1 and fig.get_suptitle() == "The first 25 test digits"
    assert [text for text, _ in captions(fig)] == [str(label) for label in y]
    assert not any(is_red(color) for _, color in captions(fig))
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic.shape == (3 * 42, 10 * 32)        # 3 rows of 10, 28x28 digits with margins
    np.testing.assert_allclose(mosaic[2:30, 2:30], x[0, :, :, 0])
    np.testing.assert_allclose(mosaic[44:72, 34:62], x[11, :, :, 0])   # row 2, column 2


def test_show_digits_marks_wrong_predictions_in_red(mnist_small):
    x, y = mnist_small[2][:20], mnist_small[3][:20]
    predicted = y.copy()
    predicted[[3, 7]] = (y[[3, 7]] + 1) % 10
    probabilities = np.eye(10)[predicted] * 0.9 + 0.01
    fig = show_digits(x[..., 0], np.eye(10)[y], probabilities, n=12)   # one-hot labels
    save(fig, "show_digits_predictions")
    shown = captions(fig)
    assert len(shown) == 12
    for i, (text, color) in enumerate(shown):
        if i in (3, 7):
            assert text == f"{y[i]} → {predicted[i]}" and is_red(color)
        else:
            assert text == str(y[i]) and not is_red(color)
    assert fig.axes[0].get_title().startswith("10 of 12 right")


def test_show_mistakes_most_confident_first(trained, mnist_small):
    x_test, y_test = mnist_small[2], mnist_small[3]
    probabilities = trained[3]
    fig = show_mistakes(x_test, y_test, probabilities, n=30)
    save(fig, "show_mistakes")
    predicted = probabilities.argmax(1)
    wrong = np.flatnonzero(predicted != y_test)
    assert 0 < len(wrong) < 300
    assert fig.get_suptitle() == (f"{len(wrong)} of 1,000 digits wrong, "
                                  "most confident mistakes first")
    shown = captions(fig)
    assert len(shown) == min(30, len(wrong)) and all(is_red(color) for _, color in shown)
    confidences = [float(text.split("\n")[1].lstrip(">").rstrip("%")) for text, _ in shown]
    assert confidences == sorted(confidences, reverse=True)
    most_confident = wrong[np.argmax(probabilities[wrong].max(1))]
    assert shown[0][0].startswith(f"{y_test[most_confident]} → {predicted[most_confident]}\n")


def test_show_mistakes_order_and_counts_by_hand():
    images = np.zeros((5, 28, 28))
    labels = np.array([0, 1, 2, 3, 4])
    probabilities = np.full((5, 10), 0.01)
    probabilities[0, 0] = 0.9     # right
    probabilities[1, 5] = 0.6     # wrong, less sure
    probabilities[2, 2] = 0.9     # right
    probabilities[3, 8] = 0.95    # wrong, most sure
    probabilities[4, 9] = 0.7     # wrong
    fig = show_mistakes(images, labels, probabilities)
    assert fig.get_suptitle() == "3 of 5 digits wrong, most confident mistakes first"
    assert [text for text, _ in captions(fig)] == ["3 → 8\n95%", "4 → 9\n70%", "1 → 5\n60%"]
    none = show_mistakes(images[:1], labels[:1], probabilities[:1])
    assert none.get_suptitle().startswith("0 of 1 digits wrong") and not captions(none)


def test_a_confident_mistake_is_never_captioned_100_percent():
    """99.6% sure and wrong reads "99.6%": rounding it to "100%" would claim certainty."""
    sure = [0.996, 0.99949, 0.9996, 0.99, 0.989, 0.6, 1.0]
    probabilities = np.zeros((len(sure), 10))
    probabilities[:, 1] = sure                       # every digit is a 0, read as a 1
    probabilities[:, 0] = 1 - probabilities[:, 1]
    fig = show_mistakes(np.zeros((len(sure), 28, 28)), np.zeros(len(sure), int), probabilities)
    assert [text.split("\n")[1] for text, _ in captions(fig)] == [
        "100%", ">99.9%", "99.9%", "99.6%", "99.0%", "99%", "60%"]


# --- learning rate and confusion matrix --------------------------------------------------------

def test_plot_learning_rate_plots_the_given_function():
    def decay(epoch):
        return 0.01 * 0.6**epoch + 0.0001

    fig = plot_learning_rate(decay, 12)
    save(fig, "learning_rate_function")
    ax, = fig.axes
    dots = ax.lines[0]
    np.testing.assert_array_equal(dots.get_xdata(), np.arange(12))
    np.testing.assert_allclose(dots.get_ydata(), [decay(e) for e in range(12)])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"
    # Another function gives another plot (the original helper ignored its argument).
    other = plot_learning_rate(lambda epoch: 0.001, 3).axes[0].lines[0]
    np.testing.assert_allclose(other.get_ydata(), [0.001] * 3)


def test_plot_learning_rate_of_a_keras_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=100, decay_rate=0.5)
    fig = plot_learning_rate(schedule, 5, steps_per_epoch=100)
    save(fig, "learning_rate_schedule")
    line = fig.axes[0].lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert x[0] == 0 and x[-1] == 5
    np.testing.assert_allclose(y, 0.01 * 0.5**x, rtol=1e-5)   # step = epoch * 100
    with pytest.raises(ValueError, match="steps_per_epoch"):
        plot_learning_rate(schedule, 5)


def test_confusion_matrix_counts_by_hand(trained, mnist_small):
    labels, probabilities = mnist_small[3], trained[3]
    fig = plot_confusion_matrix(labels, probabilities)
    save(fig, "confusion_matrix")
    ax, = fig.axes
    predicted = probabilities.argmax(1)
    by_hand = np.zeros((10, 10), int)
    for true, guess in zip(labels, predicted):
        by_hand[true, guess] += 1
    drawn = np.zeros((10, 10), int)
    for text in ax.texts:
        col, row = text.get_position()
        drawn[int(row), int(col)] = int(text.get_text())
    np.testing.assert_array_equal(drawn, by_hand)
    assert len(ax.texts) == 100
    assert ax.get_xlabel() == "predicted digit" and ax.get_ylabel() == "true digit"
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(d) for d in range(10)]
    assert ax.get_title().startswith(f"{np.trace(by_hand):,} of 1,000 right")


# --- numbers first: what the pictures draw ------------------------------------------------------

def test_confusion_counts_are_what_the_matrix_draws(trained, mnist_small):
    labels, probabilities = mnist_small[3], trained[3]
    counts = confusion_counts(labels, probabilities)
    by_hand = np.zeros((10, 10), int)
    for true, guess in zip(labels, probabilities.argmax(1)):
        by_hand[true, guess] += 1
    np.testing.assert_array_equal(counts, by_hand)
    assert counts.sum() == 1000 and np.bincount(labels, minlength=10).tolist() == \
        counts.sum(axis=1).tolist()                               # a row per true digit
    np.testing.assert_array_equal(confusion_counts(np.eye(10)[labels], probabilities.argmax(1)),
                                  counts)                         # one-hot and class numbers too
    drawn = {(int(t.get_position()[1]), int(t.get_position()[0])): int(t.get_text())
             for t in plot_confusion_matrix(labels, probabilities).axes[0].texts}
    assert drawn == {(row, col): count for (row, col), count in np.ndenumerate(counts)}


def test_mistakes_by_hand():
    images = np.arange(5)[:, None, None] * np.ones((5, 28, 28))    # digit i: every pixel i
    labels = np.array([0, 1, 2, 3, 4])
    probabilities = np.full((5, 10), 0.01)
    probabilities[[0, 1, 2, 3, 4], [0, 5, 2, 8, 9]] = [0.9, 0.6, 0.9, 0.95, 0.7]
    wrong = mistakes(images, labels, probabilities)
    assert isinstance(wrong, Mistakes)
    assert wrong.indices.tolist() == [3, 4, 1]                    # the most confident first
    assert wrong.labels.tolist() == [3, 4, 1] and wrong.predicted.tolist() == [8, 9, 5]
    np.testing.assert_allclose(wrong.confidence, [0.95, 0.7, 0.6])
    np.testing.assert_array_equal(wrong.images, images[[3, 4, 1]])  # as given
    # From class numbers: no confidence, and the mistakes in the order of the data.
    images, labels, predicted, confidence, indices = mistakes(images, labels, [0, 5, 2, 8, 9])
    assert indices.tolist() == [1, 3, 4] and predicted.tolist() == [5, 8, 9] and confidence is None
    none = mistakes(images[:0], [], np.zeros((0, 10)))
    assert len(none.indices) == 0 and len(none.images) == 0


def test_show_mistakes_draws_what_mistakes_returns(trained, mnist_small):
    x_test, y_test, probabilities = mnist_small[2], mnist_small[3], trained[3]
    wrong = mistakes(x_test, y_test, probabilities)
    fig = show_mistakes(x_test, y_test, probabilities, n=12)
    shown = [text for text, _ in captions(fig)]
    assert len(shown) == min(12, len(wrong.indices))
    assert all(text.startswith(f"{label} → {guess}\n") for text, label, guess
               in zip(shown, wrong.labels, wrong.predicted))
    mosaic = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(mosaic[2:30, 2:30], wrong.images[0, :, :, 0])   # the first one


def test_no_pyplot_figures_are_left_behind():
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []
    assert mnist_utils.plots.__all__ == ["Mistakes", "compare_runs", "confusion_counts",
                                         "mistakes", "plot_confusion_matrix",
                                         "plot_learning_rate", "show_digits", "show_mistakes"]


# --- Two runs side by side ---

FIRST = {"accuracy": [0.88, 0.90, 0.91], "val_accuracy": [0.90, 0.91, 0.9206],
         "loss": [0.45, 0.36, 0.33], "val_loss": [0.35, 0.31, 0.29]}
SECOND = {"accuracy": [0.80, 0.86], "val_accuracy": [0.85, 0.8712],
          "loss": [0.70, 0.50], "val_loss": [0.55, 0.45]}


class History:  # what model.fit returns, as far as compare_runs reads it
    def __init__(self, history):
        self.history = history


def test_compare_runs_draws_both_runs_in_each_panel():
    fig = mnist_utils.compare_runs(History(FIRST), SECOND)
    accuracy, loss = fig.axes
    assert [line.get_label() for line in accuracy.lines] == [
        "first run: validation", "first run: training", "this run: validation", "this run: training"]
    assert list(accuracy.lines[0].get_ydata()) == FIRST["val_accuracy"]
    assert list(loss.lines[2].get_ydata()) == SECOND["val_loss"]
    assert "92.06% after 3 epochs" in fig._suptitle.get_text()
    assert "87.12% after 2 epochs" in fig._suptitle.get_text()
    save(fig, "compare_runs")


def test_compare_runs_says_what_it_needs():
    with pytest.raises(ValueError, match="val_accuracy"):
        mnist_utils.compare_runs({"accuracy": [0.9]}, SECOND)
