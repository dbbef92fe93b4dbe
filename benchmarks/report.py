"""Write the results section of README.md from the benchmarks' outputs.

    python benchmarks/report.py

Reads benchmarks/results/*.json and *.md as the benchmark scripts left them and replaces the
text between the `results:begin` and `results:end` markers in README.md. A benchmark that has
not been run shows as "not measured", with the command that measures it.
"""
import re

from _plumbing import RESULTS, ROOT, read_results

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

SECTIONS = [
    ("accuracy", "Accuracy of each notebook, run top to bottom as a learner would (full data, default parameters)",
     "python benchmarks/accuracy.py"),
    ("side_by_side", "Our notebooks next to the original codelab's, trained side by side in one run (10 epochs each unless the notebook says otherwise; training time from building the datasets to the end of `fit`)",
     "python benchmarks/side_by_side.py"),
    ("frontier", "Notebook 05's choices: validation accuracy against training time, full data",
     "python benchmarks/frontier.py"),
    ("input_pipeline", "Input pipeline: images/s of `mnist_utils` against the original codelab's reader, both batched, iterated alike",
     "python benchmarks/input_pipeline.py"),
    ("epoch_time", "Pipeline cost: epoch time with `mnist_utils.training_dataset` ÷ epoch time from in-memory arrays",
     "python benchmarks/epoch_time.py"),
    ("backend_epoch_time", "Keras' backends: seconds per epoch of every notebook on TensorFlow and on JAX, side by side",
     "python benchmarks/backend_epoch_time.py"),
    ("repeatability", "Repeatability: the same notebook twice with the same seed",
     "python benchmarks/repeatability.py"),
    ("ci_cost", "CI cost: the whole test command", "python benchmarks/ci_cost.py"),
]


def describe(data):
    """The date, versions and machine a result file records, in one line."""
    versions = data.get("versions") or {k: data[k] for k in ("tensorflow",) if k in data}
    parts = [data.get("date"), ", ".join(f"{k} {v}" for k, v in versions.items()),
             data.get("machine"), data.get("device")]
    return "; ".join(p for p in parts if p)


def section(name, title, command):
    md = RESULTS / f"{name}.md"
    if not md.exists():
        return f"**{title}.** Not measured yet: `{command}`.\n"
    data = read_results(name, {})
    measured = describe(data)
    rerun = data.get("command", command).strip()
    table = "\n".join(line for line in md.read_text().strip().splitlines()
                      if not line.startswith("# "))  # the result file's own title
    return f"**{title}.** Measured {measured}, with `{rerun}`:\n\n{table.strip()}\n"


def main():
    body = "\n".join(section(*s) for s in SECTIONS)
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {BEGIN} ... {END} markers")
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{body}{END}", text), encoding="utf-8")
    print(body)


if __name__ == "__main__":
    main()
