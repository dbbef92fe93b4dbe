"""README's "Project layout" names every file of the package, the tools and the benchmarks, and
nothing that is not there."""
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("mnist_utils", "tools", "benchmarks")
FILE_NAME = r"(?<![\w/.]){}(?!\w)"      # a whole name: not the end of _plots.py for plots.py


def layout():
    """{folder: what README's layout block says of it}, its continuation lines included."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Project layout", 1)[1].split("```", 2)[1]
    entries, folder = {}, None
    for line in block.splitlines():
        if line and not line.startswith(" "):
            folder, _, line = line.partition("/")
        if folder:
            entries[folder] = entries.get(folder, "") + " " + line.strip()
    return entries


def files_in(folder):
    """The code of a folder: its Python files, and the package's static files."""
    return sorted(str(path.relative_to(REPO / folder))
                  for pattern in ("*.py", "static/*") for path in (REPO / folder).glob(pattern))


def left_out(folder, text):
    return [name for name in files_in(folder)
            if not re.search(FILE_NAME.format(re.escape(name)), text)]


def made_up(folder, text):
    named = re.findall(FILE_NAME.format(r"([\w/]+\.(?:py|js|css))"), text)
    return [name for name in named if not (REPO / folder / name).is_file()]


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_layout_names_every_file(folder):
    assert files_in(folder) and left_out(folder, layout()[folder]) == [], \
        "README's Project layout leaves these out"


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_layout_names_nothing_that_is_missing(folder):
    assert made_up(folder, layout()[folder]) == [], "README's Project layout names these"


def test_the_checks_see_a_file_left_out_and_a_name_made_up():
    text = layout()["mnist_utils"].replace("plots.py", "_plots.py")
    assert left_out("mnist_utils", text) == ["plots.py"]      # though _plots.py is named
    assert made_up("mnist_utils", text) == ["_plots.py"]
