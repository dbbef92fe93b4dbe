"""The test run's environment (conftest.py at the top): warnings from every module of mnist_utils
are errors, in this process and in the kernels and processes it starts; the list comes from the
package's folder, not from a hand-kept list, and conftest.py starts nothing itself."""
import ast
import os
import pkgutil
import re
import runpy
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULES = ["mnist_utils"] + [f"mnist_utils.{module.name}"
                             for module in pkgutil.iter_modules([str(REPO / "mnist_utils")])]


def test_every_module_of_the_package_is_in_the_kernels_warning_filters():
    filters = os.environ["PYTHONWARNINGS"].split(",")
    assert set(MODULES) <= {f.split(":")[3] for f in filters if f.startswith("error:")}
    assert {"mnist_utils.files", "mnist_utils.data", "mnist_utils._tf_strategies",
            "mnist_utils.live_plot"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_a_warning_from_the_package_is_an_error_in_the_tests(module):
    with pytest.raises(UserWarning, match="raised by a test"):
        warnings.warn_explicit("raised by a test", UserWarning, "any.py", 1, module=module)
    with warnings.catch_warnings(record=True) as elsewhere:      # only the package's
        warnings.warn_explicit("raised by a test", UserWarning, "any.py", 1, module="elsewhere")
    assert [str(w.message) for w in elsewhere] == ["raised by a test"]


def test_a_warning_from_the_package_is_an_error_in_a_process_the_tests_start():
    code = ("import warnings\nfor module in {!r}:\n    try:\n"
            "        warnings.warn_explicit('w', UserWarning, 'any.py', 1, module=module)\n"
            "    except UserWarning:\n        print(module)").format(MODULES)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == MODULES


def test_the_top_conftest_imports_neither_the_package_nor_keras():
    """It sets the environment before anything reads it (Keras reads its caps when imported)."""
    imported = set()
    for node in ast.walk(ast.parse((REPO / "conftest.py").read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= {"os", "re", "pathlib"}, imported


def test_every_entry_of_the_slow_tier_names_tests_that_are_there():
    """A renamed test would otherwise fall silently into the quick tier (conftest.py's SLOW)."""
    top = runpy.run_path(str(REPO / "conftest.py"))
    for prefix in top["SLOW"]:
        path, _, name = prefix.partition("::")
        assert (REPO / path).exists(), prefix
        if name:
            assert re.search(rf"^def {re.escape(name)}", (REPO / path).read_text(), re.M), prefix
    assert top["is_slow"]("notebooks/05_batch_norm.ipynb::Cell 3")
    assert top["is_slow"]("tests/test_site.py::test_the_search_finds_batch_normalisation")
    assert not top["is_slow"]("tests/test_plots.py::test_no_pyplot_figures_are_left_behind")
