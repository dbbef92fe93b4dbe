"""Tests for mnist_utils.insides: each picture drawn from a small model of a notebook's shape,
trained for a few hundred steps on genuine MNIST digits, with checks of what it shows.

Each test writes its figure to tests/output/insides_*.png: look at them, a picture can pass
every check here and still be unreadable.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

import mnist_utils  # noqa: E402
from mnist_utils import (  # noqa: E402
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

pytestmark = pytest.mark.filterwarnings("error")

OUTPUT = Path(__file__).parent / "output"


def save(fig, name):
    OUTPUT.mkdir(exist_ok=True)
    fig.savefig(OUTPUT / f"insides_{name}.png")


# --- Models of the notebooks' shapes, trained briefly on real digits ---------------------------

@pytest.fixture(scope="module")
def digits(shared_mnist_dir):
    """3,200 training digits (int labels) and 500 validation digits (one-hot labels)."""
    train = mnist_utils.load_digits(3200, split="train", data_dir=shared_mnist_dir)
    validation = mnist_utils.load_digits(500, one_hot=True, data_dir=shared_mnist_dir)
    return train, validation


def trained(layers, digits, optimizer, steps=200):
    """A Sequential of `layers`, trained for `steps` batches of 32 real digits."""
    (x, y), _ = digits
    keras.config.set_max_epochs(None)       # the root conftest.py caps fit for the notebooks
    keras.config.set_max_steps_per_epoch(None)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((28, 28, 1)), *layers])
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = -(-steps * 32 // len(x))
    model.fit(x, y, batch_size=32, epochs=epochs, steps_per_epoch=min(steps, len(x) // 32),
              verbose=0)
    return model


def dense_layers(activation):
    return [keras.layers.Flatten(),
            *[keras.layers.Dense(units, activation=activation) for units in (200, 100, 60, 30)],
            keras.layers.Dense(10, activation="softmax")]


@pytest.fixture(scope="module")
def softmax_model(digits):
    """Notebook 01: one Dense softmax layer, plain gradient descent."""
    return trained([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")],
                   digits, keras.optimizers.SGD(0.1))


@pytest.fixture(scope="module")
def sigmoid_model(digits):
    """Notebook 02's sigmoid network with plain gradient descent (it stalls)."""
    return trained(dense_layers("sigmoid"), digits, keras.optimizers.SGD(0.1))


@pytest.fixture(scope="module")
def relu_model(digits):
    """Notebook 02's ReLU network with Adam."""
    return trained(dense_layers("relu"), digits, keras.optimizers.Adam(0.001))


@pytest.fixture(scope="module")
def conv_model(digits):
    """Notebook 04's convolutional network (fewer filters, same layers)."""
    return trained([
        keras.layers.Conv2D(6, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(8, 6, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(12, 6, strides=2, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(60, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ], digits, keras.optimizers.Adam(0.01))


@pytest.fixture(scope="module")
def batch_norm_model(digits):
    """Notebook 05's network (fewer filters): Conv2D without bias, BatchNormalization, ReLU.

    400 steps, so that the moving averages (momentum 0.99) have forgotten their start values.
    """
    def conv_bn_relu(filters, size, strides=1):
        return [keras.layers.Conv2D(filters, size, strides=strides, padding="same",
                                    use_bias=False),
                keras.layers.BatchNormalization(scale=False),
                keras.layers.Activation("relu")]
    return trained([
        *conv_bn_relu(8, 5), *conv_bn_relu(12, 5, strides=2), *conv_bn_relu(16, 4, strides=2),
        keras.layers.Flatten(),
        keras.layers.Dense(60, use_bias=False),
        keras.layers.BatchNormalization(scale=False),
        keras.layers.Activation("relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10, activation="softmax"),
    ], digits, keras.optimizers.Adam(0.01), steps=400)


def validation(digits, n=None):
    images, labels = digits[1]
    return images[:n], labels[:n]


def numpy(tensor):
    if isinstance(tensor, keras.Variable):
        tensor = keras.ops.copy(tensor)
    return np.asarray(keras.ops.convert_to_numpy(tensor))


# --- 01: logits and softmax --------------------------------------------------------------------

def test_logits_become_the_models_probabilities(softmax_model, digits):
    images, labels = validation(digits, 1)
    logits, probabilities = logits_and_probabilities(softmax_model, images[0])
    assert logits.shape == probabilities.shape == (10,)
    assert probabilities.sum() == pytest.approx(1, abs=1e-6)
    e = np.exp(logits - logits.max())
    np.testing.assert_allclose(probabilities, e / e.sum(), atol=1e-6)
    np.testing.assert_allclose(probabilities, softmax_model.predict(images, verbose=0)[0],
                               atol=1e-6)
    assert logits.min() < 0 < logits.max()        # scores, not probabilities
    fig = show_logits(softmax_model, images[0], labels[0])     # a one-hot label
    save(fig, "01_logits_softmax")
    _, scores, shown = fig.axes
    np.testing.assert_allclose([bar.get_height() for bar in scores.patches], logits, rtol=1e-6)
    np.testing.assert_allclose([bar.get_height() for bar in shown.patches], probabilities,
                               rtol=1e-6)
    winner = int(probabilities.argmax())
    assert f"reads a {winner}" in fig.get_suptitle()
    assert "summing to 1.000" in shown.get_title()
    # the winner's bar stands out from the others in both panels
    colors = [tuple(bar.get_facecolor()) for bar in scores.patches]
    assert len(set(colors)) == 2 and colors.count(colors[winner]) == 1
    # the same picture with an int label
    same = show_logits(softmax_model, images[0], int(labels[0].argmax()))
    assert same.get_suptitle() == fig.get_suptitle()


def test_show_logits_takes_one_digit_and_a_softmax_model(softmax_model, conv_model, digits):
    images, _ = validation(digits, 3)
    with pytest.raises(ValueError, match=r"one digit, got 3: pass one of them, e.g. images\[0\]"):
        show_logits(softmax_model, images)
    flat = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(10)])
    with pytest.raises(ValueError, match='Dense\\(10, activation="softmax"\\)'):
        show_logits(flat, images[0])
    functional = keras.Model(conv_model.inputs, conv_model.outputs)
    with pytest.raises(TypeError, match="keras.Sequential model"):
        show_logits(functional, images[0])


# --- 01: weight templates ----------------------------------------------------------------------

def test_weight_templates_are_the_kernel_and_look_like_the_digits(softmax_model, digits):
    templates = weight_templates(softmax_model)
    kernel = numpy(softmax_model.layers[-1].kernel)
    assert templates.shape == (10, 28, 28)
    np.testing.assert_array_equal(templates[3].ravel(), kernel[:, 3])
    # Each template scores the average training digit of its own class highest, for most digits.
    (x, y), _ = digits
    means = np.stack([x[y == d].reshape(-1, 784).mean(axis=0) for d in range(10)])
    assert ((means @ templates.reshape(10, 784).T).argmax(axis=1) == np.arange(10)).sum() >= 8
    fig = show_weight_templates(softmax_model)
    save(fig, "01_weight_templates")
    *panels, bar = fig.axes
    assert len(panels) == 10 and [ax.get_title() for ax in panels] == [
        f"weights of {d}" for d in range(10)]
    for ax in panels:
        image = ax.images[0]
        low, high = image.get_clim()
        assert low == -high == -np.abs(templates).max()          # centred on zero
        assert image.get_cmap().name == "RdBu"
        assert isinstance(image.norm, Normalize)
    ticks = [t.get_text() for t in bar.get_yticklabels()]
    assert "votes against" in ticks[0] and ticks[1] == "0" and "votes for" in ticks[2]


def test_weight_templates_need_the_one_layer_model(relu_model):
    with pytest.raises(ValueError, match=r"\(784, 200\); templates need .* \(784, 10\)"):
        weight_templates(relu_model)


# --- 02: activation slopes ---------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_pre_activations_are_what_each_activation_reads(activation, sigmoid_model, relu_model,
                                                        digits):
    model = sigmoid_model if activation == "sigmoid" else relu_model
    images, _ = validation(digits, 200)
    values = pre_activations(model, images)
    hidden = model.layers[1:5]
    assert list(values) == [layer.name for layer in hidden]
    assert [v.shape for v in values.values()] == [(200, 200), (200, 100), (200, 60), (200, 30)]
    first = images.reshape(200, 784) @ numpy(hidden[0].kernel) + numpy(hidden[0].bias)
    np.testing.assert_allclose(values[hidden[0].name], first, rtol=1e-4, atol=1e-4)
    x = images
    for layer, z in zip(model.layers, [None, *values.values()]):
        x = numpy(layer(x))
        if z is not None:   # the layer's output is its activation of these values
            np.testing.assert_allclose(x, numpy(layer.activation(z)), rtol=1e-4, atol=1e-5)

    fig = show_activation_slopes(model, images)
    save(fig, f"02_activation_slopes_{activation}")
    curves, histogram, gradient, slopes = fig.axes
    sigmoid_slope, relu_slope = slopes.lines[:2]
    assert max(sigmoid_slope.get_ydata()) == pytest.approx(0.25, abs=1e-3)
    assert set(relu_slope.get_ydata()) == {0.0, 1.0}
    bound, relu_line, own = gradient.lines
    np.testing.assert_allclose(bound.get_ydata(), 0.25 ** np.arange(1, 5))
    if activation == "sigmoid":    # never better than the bound, and gone by the first layer
        assert (own.get_ydata() <= bound.get_ydata() + 1e-12).all()
        assert own.get_ydata()[-1] < 0.01
    assert f"({activation})" in slopes.get_legend().get_texts()[0].get_text()


# --- 03 and 04: a shifted digit ----------------------------------------------------------------

def test_shift_moves_the_ink_and_loses_none(digits):
    images, _ = validation(digits, 100)
    kept = 0
    for image in images:
        moved = shift_digit(image, 2)
        assert moved.shape == image.shape
        np.testing.assert_array_equal(moved[:, 2:], image[:, :-2])
        assert (moved[:, :2] == 0).all()                        # padded with black, not wrapped
        if not image[:, -2:].any():                             # nothing there to push out
            assert moved.sum() == pytest.approx(image.sum(), rel=1e-6)
            kept += 1
    assert kept >= 95          # MNIST centres its digits: almost none touch the last 2 columns
    np.testing.assert_array_equal(shift_digit(images, 2), [shift_digit(i, 2) for i in images])
    image = images[0, :, :, 0]
    np.testing.assert_array_equal(shift_digit(image, 3, "down")[3:], image[:-3])
    np.testing.assert_array_equal(shift_digit(image, 1, "up")[:-1], image[1:])
    np.testing.assert_array_equal(shift_digit(image, 2, "left")[:, :-2], image[:, 2:])
    np.testing.assert_array_equal(shift_digit(image, 0), image)
    with pytest.raises(ValueError, match="direction must be one of right, left, down, up"):
        shift_digit(image, 2, "sideways")
    with pytest.raises(ValueError, match="whole number of pixels"):
        shift_digit(image, 1.5)


@pytest.mark.parametrize("kind", ["dense", "convolutional"])
def test_shifted_digit_is_read_by_the_model(kind, relu_model, conv_model, digits):
    model = relu_model if kind == "dense" else conv_model
    images, labels = validation(digits, 1)
    before, after = shifted_predictions(model, images[0], 2)
    expected = model.predict(np.stack([images[0], shift_digit(images[0], 2)]), verbose=0)
    np.testing.assert_allclose(before, expected[0], atol=1e-5)
    np.testing.assert_allclose(after, expected[1], atol=1e-5)
    assert not np.allclose(before, after)        # the model sees another digit
    fig = show_shifted_digit(model, images[0], 2, label=labels[0])
    save(fig, f"shifted_digit_{kind}")
    original, moved, bars = fig.axes
    np.testing.assert_array_equal(moved.images[0].get_array(), shift_digit(images[0, :, :, 0], 2))
    heights = np.array([bar.get_height() for bar in bars.patches])
    np.testing.assert_allclose(heights, np.concatenate([before, after]), rtol=1e-6)
    assert f"read by a {kind} network" in fig.get_suptitle()
    assert "ink lost" not in moved.get_title()
    # On many digits: the accuracy as they are and shifted, computed by hand and drawn.
    many, many_labels = validation(digits, 300)
    rates = shifted_accuracy(model, many, many_labels, 2)
    by_hand = [(model.predict(batch, verbose=0).argmax(1) == many_labels.argmax(1)).mean()
               for batch in (many, shift_digit(many, 2))]
    np.testing.assert_allclose(rates, by_hand)
    fig = show_shifted_digit(model, images[0], 2, label=labels[0], digits=(many, many_labels))
    save(fig, f"shifted_digits_{kind}")
    accuracy = fig.axes[-1]
    np.testing.assert_allclose([bar.get_height() for bar in accuracy.patches], rates)
    assert accuracy.get_title() == "accuracy on\n300 digits"
    if kind == "dense":        # a dense network has learnt where the ink is, not its shapes
        assert rates[1] < rates[0] - 0.05
    far = show_shifted_digit(model, images[0], 8, direction="up")
    assert "of the ink lost" in far.axes[1].get_title()


# --- 04 and 05: filters and feature maps -------------------------------------------------------

def test_filters_and_maps_of_the_first_convolution(conv_model, digits):
    images, _ = validation(digits, 1)
    kernel, maps = filters_and_feature_maps(conv_model, images[0])
    conv = conv_model.layers[0]
    assert kernel.shape == tuple(conv.kernel.shape) == (3, 3, 1, 6)
    assert maps.shape == tuple(conv.output.shape[1:]) == (28, 28, 6)
    # Feature map 2 by hand: the 3x3 patch around each pixel times the filter, summed, + bias,
    # then ReLU.
    padded = np.pad(images[0, :, :, 0], 1)
    patches = np.lib.stride_tricks.sliding_window_view(padded, (3, 3))
    by_hand = np.maximum((patches * kernel[:, :, 0, 2]).sum(axis=(2, 3))
                         + numpy(conv.bias)[2], 0)
    np.testing.assert_allclose(maps[:, :, 2], by_hand, atol=1e-5)
    fig = show_filters(conv_model, images[0])
    save(fig, "04_filters")
    assert "6 filters of 3×3" in fig.get_suptitle() and "after ReLU" in fig.get_suptitle()
    pictures = [ax for ax in fig.axes if ax.images and ax.get_title().startswith("filter")]
    assert len(pictures) == 6
    for ax in pictures:
        low, high = ax.images[0].get_clim()
        assert low == -high                                     # centred on zero
    assert (maps >= 0).all()


def test_filters_of_a_convolution_before_batch_norm(batch_norm_model, digits):
    images, _ = validation(digits, 1)
    kernel, maps = filters_and_feature_maps(batch_norm_model, images[0])
    assert kernel.shape == (5, 5, 1, 8) and maps.shape == (28, 28, 8)
    assert maps.min() < 0 < maps.max()                          # raw: before the ReLU
    fig = show_filters(batch_norm_model, images[0])
    save(fig, "05_filters")
    assert "before batch normalisation and ReLU" in fig.get_suptitle()
    second = filters_and_feature_maps(batch_norm_model, images[0], layer=3)
    assert second[0].shape == (5, 5, 8, 12) and second[1].shape == (14, 14, 12)
    with pytest.raises(ValueError, match="not a Conv2D layer"):
        filters_and_feature_maps(batch_norm_model, images[0], layer=1)


def test_one_step_of_a_convolution(conv_model, digits):
    images, _ = validation(digits, 1)
    kernel, maps = filters_and_feature_maps(conv_model, images[0])
    step = convolution_step(conv_model, images[0])
    assert step.filter == np.abs(maps).mean(axis=(0, 1)).argmax()    # the busiest filter
    np.testing.assert_array_equal(step.feature_map, maps[:, :, step.filter])
    row, column = step.at
    assert abs(step.feature_map[row, column]) == np.abs(step.feature_map).max()
    np.testing.assert_array_equal(step.weights, kernel[:, :, 0, step.filter])
    padded = np.pad(images[0, :, :, 0], 1)
    np.testing.assert_array_equal(step.patch, padded[row:row + 3, column:column + 3])
    np.testing.assert_allclose(step.products, step.patch * step.weights)
    assert step.value == pytest.approx(step.products.sum() + step.bias)
    assert step.output == pytest.approx(max(step.value, 0), abs=1e-5)      # then ReLU
    corner = convolution_step(conv_model, images[0], filter=1, at=(0, 0))
    assert (corner.patch[0] == 0).all() and (corner.patch[:, 0] == 0).all()  # off the edge
    assert corner.output == pytest.approx(maps[0, 0, 1], abs=1e-6)
    fig = show_convolution(conv_model, images[0])
    save(fig, "04_convolution_step")
    digit, *_, feature_map = fig.axes
    assert digit.patches[0].get_xy() == (column - 1 - 0.5, row - 1 - 0.5)     # the patch
    assert feature_map.patches[0].get_xy() == (column - 0.5, row - 0.5)       # its value
    assert f"= {step.value:.2f}, then ReLU: {step.output:.2f}" in fig.get_suptitle()


def test_convolution_steps_match_keras_with_strides_and_no_bias(batch_norm_model, digits):
    """Every value of a strided 4x4 convolution ("same" padding pads more at the bottom and
    the right), and of 05's first convolution, which has no bias and no activation."""
    images, _ = validation(digits, 1)
    keras.utils.set_random_seed(2)
    strided = keras.Sequential([keras.Input((28, 28, 1)),
                                keras.layers.Conv2D(2, 4, strides=2, padding="same")])
    maps = filters_and_feature_maps(strided, images[0])[1]
    assert maps.shape == (14, 14, 2)
    for (row, column), value in np.ndenumerate(maps[:, :, 1]):
        step = convolution_step(strided, images[0], filter=1, at=(row, column))
        assert step.value == pytest.approx(value, abs=1e-5)
    step = convolution_step(batch_norm_model, images[0])
    assert step.bias == 0 and step.output == pytest.approx(step.value, abs=1e-5)
    assert "then" not in show_convolution(batch_norm_model, images[0]).get_suptitle()
    with pytest.raises(ValueError, match="reads 8 channels"):
        convolution_step(batch_norm_model, images[0], layer=3)


# --- 05: batch normalisation -------------------------------------------------------------------

def test_batch_norm_centres_and_scales_each_channel(batch_norm_model, digits):
    images, _ = validation(digits, 500)
    before, after = batch_norm_values(batch_norm_model, images)
    norm = batch_norm_model.layers[1]
    assert before.shape == after.shape == (500, 28, 28, 8)
    conv = numpy(batch_norm_model.layers[0](images))
    np.testing.assert_allclose(before, conv, atol=1e-5)         # the conv layer's raw output
    beta = numpy(norm.beta)
    mean, variance = numpy(norm.moving_mean), numpy(norm.moving_variance)
    # Predicting, batch norm uses its moving averages, not this batch's statistics:
    np.testing.assert_allclose(after, (before - mean) / np.sqrt(variance + norm.epsilon) + beta,
                               atol=1e-4)
    # Those averages describe digits like these: each channel comes out centred near its
    # beta with a spread near 1 (exactly so with this batch's own statistics).
    channels = after.reshape(-1, 8)
    # (Loosely: the averages trail the weights, which were still changing fast.)
    assert np.abs(channels.mean(axis=0) - beta).max() < 0.4
    assert 0.6 < channels.std(axis=0).min() and channels.std(axis=0).max() < 1.4
    raw = before.reshape(-1, 8).astype(np.float64)
    own = (raw - raw.mean(axis=0)) / np.sqrt(raw.var(axis=0) + norm.epsilon) + beta
    np.testing.assert_allclose(own.mean(axis=0), beta, atol=1e-4)
    np.testing.assert_allclose(own.std(axis=0), 1, atol=0.03)      # epsilon: a little under 1

    fig = show_batch_norm(batch_norm_model, images)
    save(fig, "05_batch_norm")
    left, right = fig.axes
    assert "moving mean and variance" in fig.get_suptitle()
    beta_markers = right.lines[-1]
    np.testing.assert_allclose(beta_markers.get_ydata(), beta)
    dense = batch_norm_values(batch_norm_model, images[:50], layer=10)   # Dense, then BN
    assert dense[0].shape == (50, 60)
    with pytest.raises(ValueError, match="not batch normalisation, nor followed by it"):
        batch_norm_values(batch_norm_model, images, layer=2)


def test_without_batch_normalisation_the_picture_is_a_note_not_an_error(conv_model, capsys):
    """05's exercise 1 takes batch normalisation out: running the notebook on must still work."""
    images = np.zeros((4, 28, 28, 1), "float32")
    assert show_batch_norm(conv_model, images) is None
    assert "no BatchNormalization layer" in capsys.readouterr().out
    with pytest.raises(ValueError, match="the model has no BatchNormalization layer"):
        batch_norm_values(conv_model, images)   # the numbers cannot be made up


# --- pyplot ---------------------------------------------------------------------------------

def test_no_picture_leaves_a_pyplot_figure_behind():
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


def test_the_batch_norm_picture_draws_both_panels_on_one_scale():
    """Issue 30: before and after batch normalisation, on the same y-scale (a smaller spread
    must look smaller)."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(4, 3, padding="same", use_bias=False),
        keras.layers.BatchNormalization(scale=False),
        keras.layers.Activation("relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    images = np.random.default_rng(1).uniform(0, 1, (16, 28, 28, 1)).astype("float32") * 5
    fig = mnist_utils.show_batch_norm(model, images)
    left, right = fig.axes[:2]
    assert left.get_ylim() == right.get_ylim()
    before, after = mnist_utils.batch_norm_values(model, images)
    low, high = left.get_ylim()
    for values in (before, after):   # every bar, mean ± standard deviation, fits on the scale
        mean, std = values.reshape(-1, 4).mean(axis=0), values.reshape(-1, 4).std(axis=0)
        assert low <= (mean - std).min() and (mean + std).max() <= high
    save(fig, "batch_norm_one_scale")
