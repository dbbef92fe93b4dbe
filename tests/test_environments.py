"""The five notebooks under nbval in each environment of .ci/stacks.toml: Colab's GPU stack,
Colab's TPU stack (no TensorFlow), and the lowest versions pyproject.toml admits.

Each environment is built by .ci/make_env.py (.ci/run does it) and named by a variable,
MNIST_<NAME>_PYTHON (e.g. MNIST_COLAB_GPU_PYTHON): its Python. Without the variable the test is
skipped, unless MNIST_CI=1 (CI) makes its absence an error.

In the Colab environments mnist_utils is not installed beforehand: the notebooks' setup cell
installs it, through its real `pip install "keras-mnist-ladder @ git+https://github.com/...@<commit>"`,
because a stand-in google.colab module (tests/colab_standin) makes the kernel look like Colab's.
Git fetches from a plain clone of this checkout's branch instead of GitHub (a `url.insteadOf` in
a temporary git config), as a learner's pip fetches main: nothing is made in that clone, so a
release commit that main does not hold fails here.
"""
import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest
import sync_notebooks
from helpers import clone_of_this_branch

REPO = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().parent / "colab_standin"
ENVIRONMENTS = tomllib.loads((REPO / ".ci" / "stacks.toml").read_text())["environment"]
DISTRIBUTION = sync_notebooks.distribution_name()
ALL_NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("0*.ipynb"))

# What the environments must not inherit from the test run: a backend or cluster chosen for it,
# and the path that would import this checkout's mnist_utils instead of the one installed there.
NOT_INHERITED = ("KERAS_BACKEND", "TF_CONFIG", "XLA_FLAGS", "TPU_ACCELERATOR_TYPE",
                 "KERAS_DISTRIBUTION_NUM_PROCESSES", "PYTEST_ADDOPTS", "PYTHONPATH",
                 "KAGGLE_KERNEL_RUN_TYPE", "GIT_CONFIG_GLOBAL")


def variable(name):
    return f"MNIST_{name.upper().replace('-', '_')}_PYTHON"


def environment_python(name):
    python = os.environ.get(variable(name))
    if not python:
        message = (f"{variable(name)} names no Python of the environment {name!r} "
                   f"(make it: python3 .ci/make_env.py {name} .venv-{name})")
        if os.environ.get("MNIST_CI") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return python


def run(python, *args, **kwargs):
    return subprocess.run([python, *args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def git_release(tmp_path_factory):
    """(git config file, release commit): a plain clone of this checkout's branch (no tags, no
    other branches, nothing added), and a git config that sends the repository's GitHub URL
    to that clone."""
    commit = sync_notebooks.release_commit()
    clone = clone_of_this_branch(tmp_path_factory.mktemp("release") / "clone")
    config = clone.parent / "gitconfig"
    config.write_text(f'[url "file://{clone}"]\n\tinsteadOf = {sync_notebooks.repository_url()}\n')
    return config, commit


def installed_from(python):
    """How the helpers got into the environment: pip's direct_url.json ({} where none)."""
    done = run(python, "-c", "import importlib.metadata as m; "
               f"print(m.distribution({DISTRIBUTION!r}).read_text('direct_url.json') or '{{}}')",
               cwd="/")  # not the checkout, whose mnist_utils.egg-info would answer instead
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_the_notebooks_pass_nbval_in_the_environment(name, git_release, tmp_path):
    environment = ENVIRONMENTS[name]
    python = environment_python(name)
    tensorflow = run(python, "-c", "import tensorflow")
    assert (tensorflow.returncode == 0) == ("tensorflow" in environment["extras"]), \
        tensorflow.stderr[-500:]
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    colab = environment["install"] == "notebook"
    if colab:  # the setup cell installs mnist_utils from git, as on Colab
        run(python, "-m", "pip", "uninstall", "-q", "-y", DISTRIBUTION)
        config, commit = git_release
        log = tmp_path / "colab-calls.txt"
        env.update(PYTHONPATH=str(STANDIN), GIT_CONFIG_GLOBAL=str(config),
                   GIT_CONFIG_NOSYSTEM="1", MNIST_COLAB_STANDIN_LOG=str(log))
    notebooks = [f"notebooks/{n}" for n in environment.get("notebooks", ALL_NOTEBOOKS)]
    done = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:randomly", *notebooks],
                          env=env, cwd=REPO, text=True, capture_output=True, timeout=2400)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " failed" not in done.stdout and " passed" in done.stdout
    print(f"{name}: {done.stdout.strip().splitlines()[-1]}")  # nbval's summary, for the log
    if colab:
        source = installed_from(python)
        assert source.get("url") == sync_notebooks.repository_url(), source
        assert source["vcs_info"]["requested_revision"] == commit
        assert source["vcs_info"]["commit_id"] == commit
        # every notebook ends with the draw-a-digit pad, which switches on Colab's widgets
        kernels = {line.split()[1] for line in log.read_text().splitlines()
                   if line.startswith("enable_custom_widget_manager ")}
        assert len(kernels) == len(notebooks), log.read_text()
    else:
        assert installed_from(python) == {"url": REPO.as_uri(), "dir_info": {}}  # built, not linked
