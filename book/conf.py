"""Sphinx's configuration of the course's site (MyST-NB renders the notebooks, already executed,
with sphinx-book-theme). tools/build_site.py copies this folder next to the pages it generates
and writes _build_info.json beside it: the repository's URL and the line about the build."""
import json
from pathlib import Path

BUILD = json.loads((Path(__file__).parent / "_build_info.json").read_text(encoding="utf-8"))

project = "Keras and deep learning, from one softmax layer to 99.5% on MNIST"
html_title = "From one softmax layer to 99.5% on MNIST"
author = "the keras-mnist-ladder authors"
copyright = "the keras-mnist-ladder authors, Apache License 2.0"
language = "en"

# sphinx-mathjax-offline: MathJax copied into the site (_static/mathjax), no CDN: the site works
# offline, and the browser test, which allows no request outside the site, sees it typeset.
extensions = ["myst_nb", "sphinx-mathjax-offline"]
myst_enable_extensions = ["dollarmath"]  # $…$ and $$…$$ in the notebooks' text are formulas
exclude_patterns = ["_build_info.json"]
nb_execution_mode = "off"     # the notebooks come executed by tools/notebook_runner.py
nb_merge_streams = True
myst_heading_anchors = 3      # links to sections, as GitHub makes them (#the-data)
suppress_warnings = ["myst.header"]  # notebook headings start at H1 and skip levels on purpose

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = True       # the theme's download button offers the executed notebook
html_theme_options = {
    "repository_url": BUILD["repository_url"],
    "repository_branch": "main",
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "extra_footer": f"<p class='course-build'>{BUILD['build_line_html']}</p>",
}
html_context = {"default_mode": "light"}  # the theme's first look; readers can switch
html_favicon = "_static/favicon.png"      # a digit from MNIST's training set


# Alt text: mnist_utils gives every figure's PNG an alt text in the output's metadata, Jupyter's
# convention ({"image/png": {"alt": ...}}, which nbconvert puts in <img alt>). MyST-NB 1.4 takes
# only width and height from there, so Sphinx would write the image's file name instead: take
# the alt text too (tests/test_site.py checks every figure's <img alt> on the pages).
from myst_nb.core.render import NbElementRenderer  # noqa: E402

_render_image = NbElementRenderer.render_image


def _render_image_with_alt(self, data):
    images = _render_image(self, data)
    alt = data.output_metadata.get(data.mime_type, {}).get("alt")
    for image in images if alt else ():
        image["alt"] = str(alt)
    return images


NbElementRenderer.render_image = _render_image_with_alt
