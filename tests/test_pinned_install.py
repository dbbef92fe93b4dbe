"""The notebooks' install line names the release of mnist_utils they were written for, and that
install works: from a git clone of this checkout at the release tag, into a fresh virtual
environment. The setup cell takes its Colab/Kaggle path there, and nowhere else."""
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import sync_notebooks
from notebook_code import cell_text, load, notebook_paths

import mnist_utils

REPO = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().parent / "colab_standin"
TAG = "v" + mnist_utils.__version__


def setup_cell(path):
    cells = load(path)["cells"]
    return cell_text(cells[[i for i, c in enumerate(cells)
                            if cell_text(c).startswith("## Setup")][0] + 1])


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_the_install_line_names_the_release_of_version(path):
    repo = sync_notebooks.repository_url()
    lines = [line.strip() for line in setup_cell(path).splitlines() if "%pip install" in line]
    assert lines == [f'%pip install -q "mnist-utils @ git+{repo}@{TAG}"']
    assert sync_notebooks.release_tag() == TAG


def test_sync_derives_the_tag_from_version(tmp_path, monkeypatch):
    """A release bump (__version__) is all it takes: sync rewrites the line and the badges
    stay; running it again changes nothing."""
    (tmp_path / "mnist_utils").mkdir()
    (tmp_path / "mnist_utils" / "__init__.py").write_text('"""x"""\n__version__ = "0.2.0"\n')
    monkeypatch.setattr(sync_notebooks, "ROOT", tmp_path)
    repo = "https://github.com/someone/course"
    old = ('[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]'
           '(https://colab.research.google.com/github/a/b/blob/main/notebooks/01_softmax.ipynb)\n'
           '%pip install -q "mnist-utils @ git+https://github.com/a/b@v0.1.0"\n')
    new = sync_notebooks.stamp(old, repo)
    assert '"mnist-utils @ git+https://github.com/someone/course@v0.2.0"' in new
    assert new.count("[![Open In Kaggle]") == 1
    assert "src=https://github.com/someone/course/blob/main/notebooks/01_softmax.ipynb" in new
    assert sync_notebooks.stamp(new, repo) == new
    (tmp_path / "mnist_utils" / "__init__.py").write_text('__version__ = "two"\n')
    with pytest.raises(SystemExit, match="__version__"):
        sync_notebooks.release_tag()


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


def test_the_release_installs_from_a_git_clone_at_its_tag(tmp_path):
    """What the install line does on Colab, from a local clone: pip installs the tagged commit
    (built, with its static files) into a fresh virtual environment, whose other packages
    (Keras, NumPy, pip, ...) come from this one."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True)
    if subprocess.run(["git", "-C", str(clone), "rev-parse", "-q", "--verify",
                       f"refs/tags/{TAG}"], capture_output=True).returncode:
        subprocess.run(["git", "-C", str(clone), "tag", TAG], check=True)
    venv = tmp_path / "venv"
    # no pip of its own: the venv's bundled pip may be too old for `name @ git+file:///...`
    # (pip 23.2 refuses a URL without a host); this environment's pip comes with the .pth
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    installed = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps",
         f"mnist-utils @ git+{clone.as_uri()}@{TAG}"],
        env=env, capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    done = subprocess.run(
        [python, "-c", "import mnist_utils, pathlib; print(mnist_utils.__version__); "
         "print(pathlib.Path(mnist_utils.__file__).parent)"],
        env={**env, "KERAS_BACKEND": "jax"}, cwd=tmp_path, capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    version, package = done.stdout.split()
    assert version == mnist_utils.__version__
    assert Path(package).is_relative_to(venv) and (Path(package) / "static" / "draw.js").exists()
