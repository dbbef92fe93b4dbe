"""Keep the notebooks clean and pointing at the repository that pyproject.toml names.

The repository's public home is written in one place, `[project.urls] Repository` in
pyproject.toml, and the release of mnist_utils the notebooks install in one, `release` under
`[tool.keras-mnist-ladder]` in pyproject.toml: the commit of main that holds that release.
This script derives from them every "Open in Colab" link and the "Open In Colab" / "Open In
Kaggle" badge pair (notebooks and README), and the Colab/Kaggle install line of each notebook's
setup cell, pinned to the release commit. It stores the notebooks the way the TensorFlow docs
do: no outputs, no execution counts, sorted keys, 2-space indent. Running it twice changes
nothing the second time.

    python tools/sync_notebooks.py            # rewrite what is out of date
    python tools/sync_notebooks.py --check    # only report; exit 1 if anything is out of date,
                                              # or if mnist_utils differs from the release
    python tools/sync_notebooks.py --release  # make HEAD the release the notebooks install
"""
import argparse
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BRANCH = "main"

# A link to the repository's README section or notebook files on GitHub (not to other projects).
GITHUB_LINK = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+?(?=#|/blob/main/notebooks/)")
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/")
# The install line's requirement: "<distribution> @ git+<repository>@<commit>".
INSTALL_REQUIREMENT = re.compile(r"[\w.-]+ @ git\+https://[^\s\"']+")
COLAB_BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
KAGGLE_BADGE = "[![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]"
SITE_LINK = "[See outputs]"  # on the site: for a reader on GitHub, who sees none
# A Colab badge, with the Kaggle badge and the link to the site that follow it if there are some.
BADGES = re.compile(re.escape(COLAB_BADGE) + r"\((?P<colab>[^)\s]+)\)"
                    r"(?: \[!\[Open In Kaggle\]\([^)\s]+\)\]\([^)\s]+\))?"
                    r"(?: " + re.escape(SITE_LINK) + r"\([^)\s]+\))?")
GITHUB_REPO = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")
# pyproject.toml's table [tool.keras-mnist-ladder], whose `release` names the release commit.
TOOL = "keras-mnist-ladder"
# What a wheel of the helpers is built from: the package's files and these parts of pyproject.toml.
PACKAGE = "mnist_utils"
BUILD_TABLES = ("build-system", "project", "tool.setuptools", "tool.setuptools.dynamic",
                "tool.setuptools.package-data")


def repository_url():
    """The repository URL from pyproject.toml, checked to be a GitHub repository (Colab needs one)."""
    url = pyproject()["project"]["urls"]["Repository"]
    if not GITHUB_REPO.match(url):
        sys.exit(f"pyproject.toml: Repository = {url!r} is not https://github.com/OWNER/NAME, "
                 "which Colab's 'Open in Colab' links need.")
    return url.rstrip("/").removesuffix(".git")


def pyproject(root=None):
    return tomllib.loads(((root or ROOT) / "pyproject.toml").read_text())


def distribution_name():
    """The name pip knows the helpers by (the import name stays mnist_utils)."""
    return pyproject()["project"]["name"]


def _release(root=None):
    """pyproject.toml's release commit, or None where it names no full commit hash."""
    commit = pyproject(root).get("tool", {}).get(TOOL, {}).get("release", "")
    return commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None


def release_commit():
    """The commit of main whose mnist_utils every notebook installs on Colab and Kaggle."""
    commit = _release()
    if commit is None:
        sys.exit(f"pyproject.toml: [tool.{TOOL}] release names no full commit hash; "
                 "make a release: python tools/sync_notebooks.py --release")
    return commit


def install_requirement(repo_url):
    """What the notebooks' install line installs: the helpers as they are in the release commit."""
    return f"{distribution_name()} @ git+{repo_url}@{release_commit()}"


def git(*args, root=None, check=True):
    done = subprocess.run(["git", "-C", str(root or ROOT), *args], capture_output=True, text=True)
    if check and done.returncode:
        sys.exit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done


def _build_inputs(toml):
    """The parts of a pyproject.toml that change what the helpers' wheel holds or needs."""
    inputs = {}
    for table in BUILD_TABLES:
        value = toml
        for key in table.split("."):
            value = value.get(key, {})
        inputs[table] = value
    project = dict(inputs["project"])
    project.pop("urls", None)  # where the repository lives is not part of the package
    project.pop("optional-dependencies", None)  # the extras are for checkouts, not notebooks
    inputs["project"] = project
    return inputs


def release_problems(root=None):
    """What stops the release commit from being what the notebooks are tested against: each a
    sentence with what to do (none: the commit is on this branch, and its mnist_utils and build
    settings are exactly this checkout's)."""
    root = root or ROOT
    commit = _release(root)
    make_one = "make a release: python tools/sync_notebooks.py --release (README, Releases)"
    if commit is None:
        return [f"pyproject.toml names no release commit ([tool.{TOOL}] release); {make_one}"]
    if git("cat-file", "-e", f"{commit}^{{commit}}", root=root, check=False).returncode:
        shallow = git("rev-parse", "--is-shallow-repository", root=root, check=False).stdout
        hint = ("this clone is shallow: fetch the whole history (git fetch --unshallow)"
                if shallow.strip() == "true" else "was it made on a branch that never reached main?")
        return [f"the release commit {commit[:12]} is not in this repository; {hint}"]
    if git("merge-base", "--is-ancestor", commit, "HEAD", root=root, check=False).returncode:
        return [f"the release commit {commit[:12]} is not in HEAD's history: the notebooks of main "
                f"would install a commit that main does not hold; {make_one}"]
    problems = []
    released = set(git("ls-tree", "-r", "--name-only", commit, "--", PACKAGE,
                       root=root).stdout.split())
    here = set(git("ls-files", "--cached", "--others", "--exclude-standard", "--", PACKAGE,
                   root=root).stdout.split())
    here = {path for path in here if (root / path).is_file()}  # a deleted file is not here
    changed = sorted(path for path in released ^ here)
    changed += sorted(path for path in released & here
                      if subprocess.run(["git", "-C", str(root), "show", f"{commit}:{path}"],
                                        capture_output=True, check=True).stdout
                      != (root / path).read_bytes())
    if changed:
        problems.append(f"{PACKAGE}/ differs from the release {commit[:12]} the notebooks install "
                        f"({', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''}); {make_one}")
    then = tomllib.loads(git("show", f"{commit}:pyproject.toml", root=root).stdout)
    before, now = _build_inputs(then), _build_inputs(pyproject(root))
    tables = [table for table in BUILD_TABLES if before[table] != now[table]]
    if tables:
        problems.append(f"pyproject.toml's {', '.join(tables)} differ from the release "
                        f"{commit[:12]} the notebooks install; {make_one}")
    return problems


def make_release(root=None):
    """Pin the notebooks to HEAD: its mnist_utils and build settings must be committed, and
    HEAD on main. Writes pyproject.toml's release and stamps the notebooks; commit both."""
    root = root or ROOT
    dirty = git("status", "--porcelain", "--", PACKAGE, "pyproject.toml", root=root).stdout
    if dirty.strip():
        sys.exit(f"commit mnist_utils/ and pyproject.toml first; uncommitted:\n{dirty}")
    branch = git("rev-parse", "--abbrev-ref", "HEAD", root=root).stdout.strip()
    if branch != BRANCH:
        sys.exit(f"a release is made on {BRANCH}, the branch Colab and Kaggle open; this is {branch!r}")
    head = git("rev-parse", "HEAD", root=root).stdout.strip()
    path = root / "pyproject.toml"
    text = path.read_text()
    line = re.compile(r'^release = "[0-9a-f]*"$', re.MULTILINE)
    if not line.search(text):
        sys.exit(f'pyproject.toml: no line `release = "..."` under [tool.{TOOL}]')
    path.write_text(line.sub(f'release = "{head}"', text, count=1))
    return head


def badges(repo_url, notebook):
    """The "Open In Colab" and "Open In Kaggle" badges of a notebook, side by side, and the link
    to its executed page on the site (for a reader on GitHub, who sees no outputs)."""
    return (f"{COLAB_BADGE}({colab_url(repo_url, notebook)}) "
            f"{KAGGLE_BADGE}({kaggle_url(repo_url, notebook)}) "
            f"{SITE_LINK}({page_url(repo_url, notebook)})")


def site_url(repo_url):
    """Where GitHub Pages publishes the course's website (tools/build_site.py builds it)."""
    owner, name = GITHUB_REPO.match(repo_url).groups()
    return f"https://{owner.lower()}.github.io/{name}/"


def page_url(repo_url, notebook):
    """The notebook's executed page on the site, every output shown."""
    return site_url(repo_url) + Path(notebook).stem + ".html"


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
    """Point every Colab link, badge pair and install line of a text at the repository (the
    install line at the release commit)."""
    text = COLAB_LINK.sub(colab_prefix(repo_url), text)
    text = GITHUB_LINK.sub(repo_url, text)
    text = BADGES.sub(lambda m: badges(repo_url, m["colab"].rsplit("/", 1)[-1]), text)
    return INSTALL_REQUIREMENT.sub(install_requirement(repo_url), text)


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
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true",
                        help="report files out of date and a stale release, change nothing")
    action.add_argument("--release", action="store_true",
                        help="make HEAD (on main, mnist_utils committed) the release the notebooks "
                             "install, then stamp them; commit what it writes")
    args = parser.parse_args(argv)
    if args.release:
        print(f"release: {make_release()}")
    stale = {path: text for path, text in expected_files(repository_url()).items()
             if path.read_text(encoding="utf-8") != text}
    for path, text in stale.items():
        if args.check:
            print(f"out of date: {path.relative_to(ROOT)} (run: python tools/sync_notebooks.py)")
        else:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
    problems = release_problems()
    for problem in problems:
        print(problem)
    return 1 if args.check and (stale or problems) else 0


if __name__ == "__main__":
    sys.exit(main())
