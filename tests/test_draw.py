"""The draw-a-digit pad: MNIST's preparation in NumPy, and the widget's Python side."""
import base64
import subprocess
import sys

import keras
import numpy as np
import pytest

from mnist_utils.draw import DigitPad, draw_digit, prepare_digit


def as_drawing(digit, scale=5, top=7, left=23, size=140):
    """An MNIST digit as a learner might draw it: bigger, anywhere on a size x size canvas."""
    rows, cols = np.nonzero(digit.any(axis=1))[0], np.nonzero(digit.any(axis=0))[0]
    ink = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    big = np.kron(ink, np.ones((scale, scale), np.float32))
    canvas = np.zeros((size, size), np.float32)
    canvas[top:top + big.shape[0], left:left + big.shape[1]] = big
    return canvas


def as_message(canvas):
    """What the browser sends: the canvas' ink as base64 bytes."""
    return base64.b64encode(np.round(canvas * 255).astype(np.uint8).tobytes()).decode()


@pytest.fixture(scope="module")
def digits(mnist_small):
    _, _, x_test, y_test = mnist_small
    return x_test[..., 0], y_test


@pytest.fixture(scope="module")
def trained_model(mnist_small):
    """One softmax layer trained on 2,000 real digits: about 85% right, in seconds."""
    x_train, y_train, _, _ = mnist_small
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=64, verbose=0)
    return model


def test_an_mnist_digit_prepared_again_is_the_same_digit(digits):
    images, _ = digits
    prepared = np.stack([prepare_digit(image) for image in images])
    assert prepared.shape == images.shape and prepared.dtype == np.float32
    assert np.abs(prepared - images).mean() < 0.005
    assert np.mean([np.allclose(p, i, atol=0.02) for p, i in zip(prepared, images)]) > 0.95


def test_a_big_off_centre_drawing_becomes_the_mnist_digit(digits):
    images, _ = digits
    for image in images[:50]:
        prepared = prepare_digit(as_drawing(image))
        assert np.abs(prepared - image).mean() < 0.01


def test_ink_fills_20_pixels_keeps_its_shape_and_is_centred_by_mass():
    canvas = np.zeros((200, 300), np.uint8)
    canvas[20:180, 40:60] = 255        # a tall bar, 160 x 20 pixels, values 0..255
    digit = prepare_digit(canvas)
    rows, cols = np.nonzero(digit.any(axis=1))[0], np.nonzero(digit.any(axis=0))[0]
    assert len(rows) == 20 and len(cols) in (2, 3)      # 160:20 becomes 20:2.5
    assert 0 <= digit.min() and digit.max() == pytest.approx(1)
    mass_row = (digit.sum(axis=1) * np.arange(28)).sum() / digit.sum()
    mass_col = (digit.sum(axis=0) * np.arange(28)).sum() / digit.sum()
    assert abs(mass_row - 14) <= 0.5 and abs(mass_col - 14) <= 0.5


def test_an_empty_drawing_is_an_empty_digit_and_bad_input_is_refused():
    assert not prepare_digit(np.zeros((140, 140))).any()
    with pytest.raises(ValueError, match="2-D grayscale"):
        prepare_digit(np.zeros((140, 140, 3)))


def test_the_pad_shows_the_models_probabilities_for_a_drawing(trained_model, digits):
    images, labels = digits
    pad = draw_digit(trained_model)
    assert isinstance(pad, DigitPad) and pad.probabilities == []
    right = 0
    for image, label in zip(images[:100], labels[:100]):
        pad.pixels = as_message(as_drawing(image))
        assert len(pad.probabilities) == 10 and sum(pad.probabilities) == pytest.approx(1, abs=1e-4)
        assert np.abs(pad.digit - image).mean() < 0.01
        right += int(np.argmax(pad.probabilities) == label)
    expected = trained_model.predict(images[:100, ..., None], verbose=0).argmax(axis=1)
    assert right == int(np.sum(expected == labels[:100])) and right >= 70

    pad.pixels = ""                            # the Clear button
    assert pad.probabilities == [] and not pad.digit.any()


def test_the_pad_needs_a_model():
    with pytest.raises(TypeError, match="trained Keras model"):
        DigitPad("model")


def test_the_pad_runs_in_a_plain_script_without_a_browser():
    script = ("import keras, numpy as np; from mnist_utils.draw import draw_digit; "
              "m = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), "
              "keras.layers.Dense(10, activation='softmax')]); pad = draw_digit(m); print(pad.size)")
    done = subprocess.run([sys.executable, "-W", "error::DeprecationWarning:mnist_utils.draw", "-c", script],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "140"


def test_on_colab_the_pad_switches_on_colabs_widget_manager(monkeypatch):
    """Colab shows third-party widgets only once its custom widget manager is on. Colab itself
    cannot run here: its module is stood in for, recording the call the pad makes."""
    import types

    calls = []
    google, colab = types.ModuleType("google"), types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("on"))
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    DigitPad(lambda images, training=False: images)
    assert calls == ["on"]
    monkeypatch.delitem(sys.modules, "google.colab")
    DigitPad(lambda images, training=False: images)  # elsewhere: nothing to switch on
    assert calls == ["on"]
