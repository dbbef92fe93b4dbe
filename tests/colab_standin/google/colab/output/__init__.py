"""google.colab.output: what mnist_utils.draw and anywidget call on Colab.

`enable_custom_widget_manager()` switches on Colab's manager for third-party widgets; anywidget
then reads the manager's address from `_widgets._installed_url` (None until it is switched on).
Each call is recorded in the file that MNIST_COLAB_STANDIN_LOG names, with the process id, so
that a test can see every notebook's kernel made it.
"""
import os

from google.colab.output import _widgets

# on Colab, the address of its widget manager script; here a made-up one (nothing loads it)
MANAGER_URL = "https://colab.stand-in.invalid/widget-manager.js"


def enable_custom_widget_manager():
    """On Colab: lets third-party widgets (the draw-a-digit pad) show. Here: recorded."""
    _widgets._installed_url = MANAGER_URL
    log = os.environ.get("MNIST_COLAB_STANDIN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"enable_custom_widget_manager {os.getpid()}\n")
