"""What every picture of the insides needs: the model's layers run on digits, and drawing bits."""
import keras
import numpy as np
from keras import ops

DIVERGING = "RdBu"      # blue: positive, white: zero, red: negative (always centred on zero)
WINNER, OTHERS = "#1f77b4", "#b0b0b0"
# orange and blue: apart for colour-blind readers and in greyscale (red and this blue print as
# the same grey)
SIGMOID, RELU = "#ff7f0e", "#1f77b4"
DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


def check_model(model, who):
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"{who}() draws from a keras.Sequential model, as the notebooks build; "
                        f"got {type(model).__name__}")
    if not model.built or not model.layers:
        raise ValueError(f"{who}(): the model has no layers with weights yet; build it first "
                         "(start it with keras.Input(shape=(28, 28, 1))) and train it")


def as_batch(model, images):
    """Digits as the model takes them: float32 in [0, 1], shaped like the model's input."""
    images = np.asarray(images, dtype=np.float32)
    if images.size % 784:
        raise ValueError(f"expected 28x28 digits, got an array of shape {images.shape}")
    if images.max(initial=0) > 1:
        images = images / 255.0
    return images.reshape((-1, *model.input_shape[1:]))


def one_digit(model, image, who):
    batch = as_batch(model, image)
    if len(batch) != 1:
        raise ValueError(f"{who}() draws one digit, got {len(batch)}: pass one of them, "
                         "e.g. images[0]")
    return batch


def as_class(label):
    """An int label, or a one-hot vector of 10 -> int (None stays None)."""
    if label is None:
        return None
    label = np.asarray(label)
    return int(label.argmax()) if label.size == 10 else int(label.reshape(()))


def to_numpy(tensor):
    """A backend tensor or a Keras variable (weights) as a NumPy array."""
    if isinstance(tensor, keras.Variable):
        tensor = ops.copy(tensor)    # NumPy 2 warns when it converts a variable directly
    return np.asarray(ops.convert_to_numpy(tensor))


def find_layer(model, layer, kinds, who):
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


def layer_values(model, batch, layer):
    """The input and the output of `layer` when the model reads `batch` (inference mode)."""
    x = ops.convert_to_tensor(batch)
    for each in model.layers:
        y = each(x, training=False)
        if each is layer:
            return x, y
        x = y
    raise ValueError(f"layer {layer.name!r} is not a layer of this model")


def activation_name(layer):
    return getattr(getattr(layer, "activation", None), "__name__", "linear")


def draw_bars(ax, values, highlight):
    """Ten bars, one per digit, the `highlight` one in colour."""
    colors = [WINNER if d == highlight else OTHERS for d in range(10)]
    bars = ax.bar(range(10), values, color=colors)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.grid(True, axis="y", alpha=0.3)
    return bars


def draw_digit(ax, image, title):
    ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray_r", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)


def network_kind(model):
    convolutional = any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
    return "convolutional network" if convolutional else "dense network"
