"""A stand-in for Colab's `google.colab` package, for the tests that run the notebooks as on
Colab (tests/test_environments.py): it has what mnist_utils and anywidget call there, and records it.

`google` is a namespace package here (no __init__.py), as it is on Colab, so that
`google.protobuf` from TensorFlow's dependencies stays importable beside it.
"""
from google.colab import output  # noqa: F401
