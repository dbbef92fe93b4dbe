"""Keep the notebooks clean and pointing at the repository that pyproject.toml names.

The repository's public home is written in one place, `[project.urls] Repository` in
pyproject.toml, and the release of mnist_utils in one, `__version__` in mnist_utils/__init__.py.
This script derives from them every "Open in Colab" link and the "Open In Colab" / "Open In
Kaggle" badge pair (notebooks and README), and the Colab/Kaggle install line of each notebook's
setup cell, pinned to the release tag (`@v0.1.0` for __version__ "0.1.0"). It stores the
notebooks the way the TensorFlow docs do: no outputs, no execution counts, sorted keys, 2-space
indent. Running it twice changes nothing the second time.

    python tools/sync_notebooks.py           # rewrite what is out of date
    python tools/sync_notebooks.py --check   # only report; exit 1 if anything is out of date
"""
import argparse
import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BRANCH = "main"

COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/")
INSTALL_SOURCE = re.compile(r"git\+https://[^\s\"']+")
COLAB_BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
KAGGLE_BADGE = "[![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]"
# A Colab badge, with the Kaggle badge that follows it if there is one already.
BADGES = re.compile(re.escape(COLAB_BADGE) + r"\((?P<colab>[^)\s]+)\)"
                    r"(?: \[!\[Open In Kaggle\]\([^)\s]+\)\]\([^)\s]+\))?")
VERSION = re.compile(r'^__version__ = "(?P<version>\d+\.\d+\.\d+)"$', re.MULTILINE)
GITHUB_REPO = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def repository_url():
    """The repository URL from pyproject.toml, checked to be a GitHub repository (Colab needs one)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    url = project["urls"]["Repository"]
    if not GITHUB_REPO.match(url):
        sys.exit(f"pyproject.toml: Repository = {url!r} is not https://github.com/OWNER/NAME, "
                 "which Colab's 'Open in Colab' links need.")
    return url.rstrip("/").removesuffix(".git")


def release_tag():
    """The git tag of the release the notebooks are written for: "v" + mnist_utils.__version__
    (read from the file, not imported: importing mnist_utils would start Keras)."""
    init = (ROOT / "mnist_utils" / "__init__.py").read_text()
    match = VERSION.search(init)
    if not match:
        sys.exit('mnist_utils/__init__.py: no line `__version__ = "X.Y.Z"`, which names the '
                 "release each notebook installs.")
    return "v" + match["version"]


def install_source(repo_url):
    """What the notebooks' install line installs: the repository at the release tag."""
    return f"git+{repo_url}@{release_tag()}"


def badges(repo_url, notebook):
    """The "Open In Colab" and "Open In Kaggle" badges of a notebook, side by side."""
    return (f"{COLAB_BADGE}({colab_url(repo_url, notebook)}) "
            f"{KAGGLE_BADGE}({kaggle_url(repo_url, notebook)})")


def colab_prefix(repo_url):
    """What every Colab link starts with: the repository's files on its main branch."""
    owner, name = GITHUB_REPO.match(repo_url).groups()
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{BRANCH}/"


def colab_url(repo_url, notebook):
    return colab_prefix(repo_url) + f"notebooks/{Path(notebook).name}"


def github_url(repo_url, notebook):
    """The notebook's page on GitHub, on the main branch."""
    return f"{repo_url}/blob/{BRANCH}/notebooks/{Path(notebook).name}"


def kaggle_url(repo_url, notebook):
    """Kaggle's 'open a notebook from GitHub' link (the one handson-ml3's badges use)."""
    return f"https://kaggle.com/kernels/welcome?src={github_url(repo_url, notebook)}"


def download_url(repo_url, notebook):
    """The notebook file itself, as GitHub serves it raw."""
    owner, name = GITHUB_REPO.match(repo_url).groups()
    return (f"https://raw.githubusercontent.com/{owner}/{name}/{BRANCH}/"
            f"notebooks/{Path(notebook).name}")


def notebook_links(repo_url, notebook):
    """Every place a notebook opens: the button bar of the site and the badges of the notebooks."""
    return {"colab": colab_url(repo_url, notebook), "kaggle": kaggle_url(repo_url, notebook),
            "github": github_url(repo_url, notebook), "download": download_url(repo_url, notebook)}


def stamp(text, repo_url):
    """Point every Colab link, badge pair and pip install line of a text at the repository
    (the install line at the release tag)."""
    text = COLAB_LINK.sub(colab_prefix(repo_url), text)
    text = BADGES.sub(lambda m: badges(repo_url, m["colab"].rsplit("/", 1)[-1]), text)
    return INSTALL_SOURCE.sub(install_source(repo_url), text)


def _source_lines(text):
    return text.splitlines(keepends=True)


def _new_id(source, taken):
    digest = hashlib.sha1(source.encode()).hexdigest()
    return next(digest[i:i + 8] for i in range(len(digest)) if digest[i:i + 8] not in taken)


def normalised(nb, name, repo_url):
    """The notebook as it is committed: stamped links, no outputs, Colab and Jupyter metadata."""
    cells = []
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        source = stamp(source, repo_url).strip("\n")
        if not source:
            continue  # empty cells are noise in a diff
        clean = {"cell_type": cell["cell_type"], "metadata": {}, "source": _source_lines(source)}
        if cell.get("metadata", {}).get("tags"):
            clean["metadata"]["tags"] = cell["metadata"]["tags"]
        if cell["cell_type"] == "code":
            clean["execution_count"] = None
            clean["outputs"] = []
        # Stable ids: a cell keeps its id, and a new cell's id comes from its text, so that the
        # same cell in two notebooks has the same id and a diff between them shows the lesson.
        clean["id"] = cell.get("id") or _new_id(source, {c["id"] for c in cells})
        cells.append(clean)
    metadata = {
        "accelerator": "GPU",  # makes Colab open the notebook on a GPU runtime
        "colab": {"name": name, "provenance": [], "toc_visible": True},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def dumps(nb):
    return json.dumps(nb, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files(repo_url):
    """Each file this script manages, with the text it should hold."""
    expected = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        expected[path] = dumps(normalised(nb, path.name, repo_url))
    readme = ROOT / "README.md"
    expected[readme] = stamp(readme.read_text(encoding="utf-8"), repo_url)
    return expected


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report files out of date, change nothing")
    args = parser.parse_args(argv)
    stale = {path: text for path, text in expected_files(repository_url()).items()
             if path.read_text(encoding="utf-8") != text}
    for path, text in stale.items():
        if args.check:
            print(f"out of date: {path.relative_to(ROOT)} (run: python tools/sync_notebooks.py)")
        else:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
