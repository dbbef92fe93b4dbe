"""Colab's widget state, as anywidget reads it: the custom widget manager's address, or None."""
_installed_url = None
