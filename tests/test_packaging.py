"""What the package declares is what the code and the notebooks need: dependencies, one version,
and TensorFlow optional."""
import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager
from notebook_code import cell_text, load, notebook_paths

import mnist_utils

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def declared(requirements):
    """Import names of requirement strings: "keras>=3.10" -> "keras"."""
    return {re.split(r"[<>=!~ \[;@]", r, maxsplit=1)[0].strip().lower().replace("-", "_")
            for r in requirements}


def imported_modules(code):
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_every_module_a_notebook_imports_is_a_declared_dependency(path):
    code = "\n".join(TransformerManager().transform_cell(cell_text(cell))
                     for cell in load(path)["cells"] if cell["cell_type"] == "code")
    # TensorFlow is the optional extra [tensorflow]: notebook 01's tf.data cell imports it only
    # where it is installed (JAX-only runtimes skip that cell).
    allowed = (declared(PYPROJECT["dependencies"])
               | declared(PYPROJECT["optional-dependencies"]["tensorflow"])
               | set(sys.stdlib_module_names) | {"mnist_utils"})
    assert imported_modules(code) - allowed == set()


def test_the_package_imports_only_declared_dependencies():
    """Besides the standard library: the core dependencies, and TensorFlow or JAX only in the
    modules for that backend (which run only where it is installed)."""
    core = declared(PYPROJECT["dependencies"]) | set(sys.stdlib_module_names) | {"mnist_utils"}
    for module in (REPO / "mnist_utils").glob("*.py"):
        extra = {"_tf_strategies.py": {"tensorflow"}, "_jax_distribution.py": {"jax"}}.get(module.name, set())
        top = {node.names[0].name.split(".")[0] if isinstance(node, ast.Import) else
               (node.module or "").split(".")[0]
               for node in ast.parse(module.read_text()).body
               if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "level", 0) == 0}
        assert top - core - extra == set(), module.name


def test_tensorflow_is_not_a_core_dependency_but_requirements_has_it():
    assert "tensorflow" not in declared(PYPROJECT["dependencies"])
    assert "tensorflow" in declared(PYPROJECT["optional-dependencies"]["tensorflow"])
    learner = [line for line in (REPO / "requirements.txt").read_text().splitlines()
               if line and not line.startswith(("#", "-"))]
    assert "tensorflow" in declared(learner)


def test_one_version_number():
    assert "version" not in PYPROJECT and PYPROJECT["dynamic"] == ["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", mnist_utils.__version__)
    try:
        installed = importlib.metadata.version(PYPROJECT["name"])
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{PYPROJECT['name']} is not installed (pip install -e .)")
    assert installed == mnist_utils.__version__


def test_the_wheel_carries_the_drawing_pads_files_without_a_warning(tmp_path):
    """What a notebook installs: the package and static/ (the pad's browser side), with no
    warning from setuptools (a folder of data missing from `packages`, which setuptools will
    stop installing)."""
    source = tmp_path / "source"
    shutil.copytree(REPO / "mnist_utils", source / "mnist_utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w",
                            str(tmp_path / "wheel"), str(source)],
                           capture_output=True, text=True, timeout=300)
    log = built.stdout + built.stderr
    assert built.returncode == 0, log[-3000:]
    assert "absent from the `packages` configuration" not in log, log[-3000:]
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"mnist_utils/draw.py", "mnist_utils/static/draw.js",
            "mnist_utils/static/draw.css"} <= names, sorted(names)
