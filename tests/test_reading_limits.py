"""What a learner reads stays within the limits of issue 30: each notebook read in about ten
minutes, and nothing but the lesson before the first digits. Measured by reading_weight.py, a
copy of the course's shared tool (python ../shared/tools/reading_weight.py notebooks --limits)."""
import pytest
import reading_weight
from notebook_code import notebook_paths

NOTEBOOKS = notebook_paths()


def test_the_notebooks_are_within_every_reading_limit(capsys):
    with pytest.raises(SystemExit) as finished:
        reading_weight.main([str(NOTEBOOKS[0].parent), "--limits"])
    printed = capsys.readouterr().out
    assert finished.value.code == 0, printed
    assert printed.rstrip().endswith("within every limit")


def test_the_limits_see_a_wall_of_text(tmp_path):
    """The check can fail: one more cell of 151 words is over the limit."""
    import json
    nb = json.loads(NOTEBOOKS[1].read_text(encoding="utf-8"))
    nb["cells"].insert(3, {"cell_type": "markdown", "id": "wall", "metadata": {},
                           "source": ["word " * 151]})
    for path in NOTEBOOKS:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / NOTEBOOKS[1].name).write_text(json.dumps(nb), encoding="utf-8")
    measured = reading_weight.measure(tmp_path / NOTEBOOKS[1].name)
    assert measured["largest_cell"] == 151 > reading_weight.LIMITS["largest_cell"]
    assert measured["before_digits"] > reading_weight.LIMITS["before_digits_others"]
