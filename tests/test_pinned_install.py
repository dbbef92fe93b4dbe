"""The notebooks install the helpers from a commit of main (the release in pyproject.toml), and
that install works as a learner's does: pip fetches the repository's branch as GitHub serves it,
builds that commit into a fresh virtual environment, and a failure says in one line what went
wrong. The setup cell takes its Colab/Kaggle path there, and nowhere else."""
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbclient
import nbformat
import pytest
import sync_notebooks
from helpers import clone_of_this_branch
from notebook_code import cell_text, load, notebook_paths

import mnist_utils

REPO = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().parent / "colab_standin"


def setup_cell(path):
    cells = load(path)["cells"]
    return cell_text(cells[[i for i, c in enumerate(cells)
                            if cell_text(c).startswith("## Setup")][0] + 1])


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_the_install_line_names_the_release_commit(path):
    repo = sync_notebooks.repository_url()
    commit = sync_notebooks.release_commit()
    lines = [line.strip() for line in setup_cell(path).splitlines() if "git+" in line]
    assert lines == [f'"keras-mnist-ladder @ git+{repo}@{commit}"],']


def test_the_release_is_this_checkouts_mnist_utils():
    """The commit the notebooks install holds exactly the mnist_utils (and build settings) that
    every other test runs, and main holds that commit."""
    assert sync_notebooks.release_problems() == []


def test_sync_stamps_links_badges_and_the_install_line(monkeypatch):
    """From an old notebook's text (a Colab badge alone, the old name and a tag): the badge trio
    and the release commit; stamping again changes nothing."""
    monkeypatch.setattr(sync_notebooks, "release_commit", lambda: "f" * 40)
    repo = "https://github.com/Someone/course"
    old = ('[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]'
           '(https://colab.research.google.com/github/a/b/blob/main/notebooks/01_softmax.ipynb)\n'
           '%pip install -q "mnist-utils @ git+https://github.com/a/b@v0.1.0"\n'
           '[README](https://github.com/a/b#setup) [glossary](https://github.com/a/b/blob/main/'
           'notebooks/glossary.md) [nbval](https://github.com/computationalmodelling/nbval)\n')
    new = sync_notebooks.stamp(old, repo)
    assert f'"keras-mnist-ladder @ git+https://github.com/Someone/course@{"f" * 40}"' in new
    assert new.count("[![Open In Kaggle]") == 1
    assert "src=https://github.com/Someone/course/blob/main/notebooks/01_softmax.ipynb" in new
    assert new.count("(https://someone.github.io/course/01_softmax.html)") == 1
    assert "(https://github.com/Someone/course#setup)" in new
    assert "(https://github.com/Someone/course/blob/main/notebooks/glossary.md)" in new
    assert "(https://github.com/computationalmodelling/nbval)" in new  # another project's: kept
    assert sync_notebooks.stamp(new, repo) == new


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_release_procedure(tmp_path, monkeypatch):
    """README's steps, in a clone: change mnist_utils and commit (the check now fails, naming
    what to do), then `sync_notebooks.py --release` on main and commit: the notebooks install
    that commit, and the check passes. On another branch, --release refuses."""
    clone = clone_of_this_branch(tmp_path / "clone")
    git(clone, "checkout", "-q", "-B", "main")
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        git(clone, "config", key, value)
    monkeypatch.setattr(sync_notebooks, "ROOT", clone)
    monkeypatch.setattr(sync_notebooks, "NOTEBOOKS", clone / "notebooks")
    init = clone / "mnist_utils" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{mnist_utils.__version__}"',
                                             '__version__ = "99.0.0"'))
    git(clone, "commit", "-q", "-am", "helpers 99.0.0")
    released = git(clone, "rev-parse", "HEAD")
    [problem] = sync_notebooks.release_problems(clone)
    assert "mnist_utils/__init__.py" in problem and "--release" in problem
    assert sync_notebooks.main(["--check"]) == 1

    assert sync_notebooks.main(["--release"]) == 0
    git(clone, "commit", "-q", "-am", "release 99.0.0")
    assert sync_notebooks.release_commit() == released
    assert sync_notebooks.release_problems(clone) == []
    assert sync_notebooks.main(["--check"]) == 0
    for path in sorted((clone / "notebooks").glob("0*.ipynb")):
        assert f"@{released}\"" in setup_cell(path)

    (clone / "pyproject.toml").write_text((clone / "pyproject.toml").read_text().replace(
        '"numpy>=1.26"', '"numpy>=2"'))
    [problem] = sync_notebooks.release_problems(clone)
    assert "project" in problem  # a new dependency is a new release too
    git(clone, "checkout", "-q", "-b", "feature")
    with pytest.raises(SystemExit, match="commit mnist_utils/ and pyproject.toml first"):
        sync_notebooks.main(["--release"])
    git(clone, "commit", "-q", "-am", "numpy 2")
    with pytest.raises(SystemExit, match="a release is made on main"):
        sync_notebooks.main(["--release"])


def test_a_release_commit_main_lacks_is_named(tmp_path):
    """A commit that exists nowhere, and one made on a branch that never reached main (as the
    tags v0.1.0 and v0.2.0 once were): the check says so."""
    clone = clone_of_this_branch(tmp_path / "clone")
    pyproject = clone / "pyproject.toml"
    release = re.compile(r'^release = "[0-9a-f]*"$', re.M)
    pyproject.write_text(release.sub('release = "' + "0" * 40 + '"', pyproject.read_text()))
    [problem] = sync_notebooks.release_problems(clone)
    assert "is not in this repository" in problem
    git(clone, "checkout", "-q", "-b", "side")
    git(clone, "-c", "user.name=T", "-c", "user.email=t@example.org",
        "commit", "-q", "--allow-empty", "-m", "on a side branch")
    side = git(clone, "rev-parse", "HEAD")
    git(clone, "checkout", "-q", "-")
    pyproject.write_text(release.sub(f'release = "{side}"', pyproject.read_text()))
    [problem] = sync_notebooks.release_problems(clone)
    assert "not in HEAD's history" in problem


def condition(path):
    """The setup cell's `if` line: when it installs mnist_utils."""
    line = next(line for line in setup_cell(path).splitlines() if line.startswith("if "))
    return re.fullmatch(r"if (.+):", line.split("  #")[0].strip())[1]


@pytest.mark.parametrize("platform, takes_it", [("local", False), ("colab", True),
                                                ("kaggle", True)])
def test_the_setup_cell_installs_on_colab_and_kaggle_only(platform, takes_it):
    """Evaluated in a fresh Python as each platform starts it: Colab's kernel has imported
    google.colab (here the stand-in does that); Kaggle sets KAGGLE_KERNEL_RUN_TYPE."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "KAGGLE_KERNEL_RUN_TYPE")}
    if platform == "colab":
        env["PYTHONPATH"] = str(STANDIN)
    if platform == "kaggle":
        env["KAGGLE_KERNEL_RUN_TYPE"] = "Interactive"
    for path in notebook_paths():
        done = subprocess.run([sys.executable, "-c", f"import os, sys; print({condition(path)})"],
                              env=env, capture_output=True, text=True, cwd="/")
        assert done.stdout.strip() == str(takes_it), (path.name, done.stderr[-1000:])


def redirect_github(tmp_path, to):
    """For pip: a git config that sends the repository's GitHub URL to `to`, and a cache of its
    own (pip keeps the wheel built from a commit, and would not fetch it again)."""
    config = tmp_path / "gitconfig"
    config.write_text(f'[url "{to}"]\n\tinsteadOf = {sync_notebooks.repository_url()}\n')
    return {"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
            "PIP_CACHE_DIR": str(tmp_path / "pip-cache")}


def test_the_release_installs_from_a_plain_clone_of_main(tmp_path):
    """What the notebook's install line does on Colab, with GitHub replaced by a plain clone of
    this branch: pip builds the release commit (with its static files) into a fresh virtual
    environment, whose other packages (Keras, NumPy, pip, ...) come from this one."""
    clone = clone_of_this_branch(tmp_path / "clone")
    venv = tmp_path / "venv"
    # no pip of its own: the venv's bundled pip may be too old for `name @ git+file:///...`
    # (pip 23.2 refuses a URL without a host); this environment's pip comes with the .pth
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(redirect_github(tmp_path, clone.as_uri()))
    requirement = sync_notebooks.install_requirement(sync_notebooks.repository_url())
    installed = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", requirement],
                               env=env, capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert "warning" not in installed.stderr.lower(), installed.stderr[-3000:]
    done = subprocess.run(
        [python, "-c", "import mnist_utils, pathlib; print(mnist_utils.__version__); "
         "print(pathlib.Path(mnist_utils.__file__).parent)"],
        env={**env, "KERAS_BACKEND": "jax"}, cwd=tmp_path, capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    version, package = done.stdout.split()
    assert version == mnist_utils.__version__
    assert Path(package).is_relative_to(venv) and (Path(package) / "static" / "draw.js").exists()


def run_setup_cell_on_kaggle(path, env, monkeypatch, tmp_path):
    """The notebook's setup cell in a fresh kernel that looks like Kaggle's: its outputs."""
    # pip's target is a folder of its own: this environment has the helpers already (pip would
    # find them there and fetch nothing), and must keep its editable install whatever happens
    env = {**env, "KAGGLE_KERNEL_RUN_TYPE": "Interactive", "PIP_TARGET": str(tmp_path / "target")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup_cell(path))])
    nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=300).execute()
    return nb.cells[0].outputs


@pytest.mark.parametrize("case", ["no internet", "a commit GitHub does not have"])
def test_a_failed_install_stops_with_one_line(case, tmp_path, monkeypatch):
    """Kaggle with its Internet switch off (here: GitHub's address refuses the connection), or
    an install line naming a commit the repository lacks: the setup cell stops with one line
    that says what went wrong and what to do, instead of pip's pages and a
    ModuleNotFoundError further down."""
    if case == "no internet":
        env = redirect_github(tmp_path, "https://127.0.0.1:9/")
        cause = "Failed to connect to 127.0.0.1 port 9"
    else:
        other = tmp_path / "other"
        for args in (["init", "-q", "-b", "main", str(other)],
                     ["-C", str(other), "-c", "user.name=T", "-c", "user.email=t@example.org",
                      "commit", "-q", "--allow-empty", "-m", "another history"]):
            subprocess.run(["git", *args], check=True)
        env = redirect_github(tmp_path, other.as_uri())
        cause = sync_notebooks.release_commit()
    outputs = run_setup_cell_on_kaggle(notebook_paths()[0], env, monkeypatch, tmp_path)
    assert [o["output_type"] for o in outputs] == ["error"], outputs  # nothing printed before
    error = outputs[0]
    print(error["evalue"])  # what the learner reads
    assert error["ename"] == "RuntimeError"
    assert "\n" not in error["evalue"]
    assert error["evalue"].startswith("Installing the course's helpers failed: ")
    assert cause in error["evalue"], error["evalue"]
    assert "Kaggle: Settings → Internet on" in error["evalue"]
    assert error["evalue"].endswith("Run this cell again, or open a fresh copy of the notebook "
                                    "from GitHub.")
