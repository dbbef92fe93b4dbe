"""google.colab.output: the one call mnist_utils.draw makes on Colab, recorded in the file
that MNIST_COLAB_STANDIN_LOG names (one line per call), so that a test can see it was made."""
import os


def enable_custom_widget_manager():
    """On Colab: lets third-party widgets (the draw-a-digit pad) show. Here: recorded."""
    log = os.environ.get("MNIST_COLAB_STANDIN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write("enable_custom_widget_manager\n")
