"""Makes a Python started with this folder on PYTHONPATH look like a Colab kernel: Colab
imports google.colab in every kernel before the notebook runs, so "google.colab" is in
sys.modules, which is what the notebooks' setup cell and mnist_utils.draw look for."""
import google.colab  # noqa: F401
