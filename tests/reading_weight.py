"""A copy of the course's shared /work/shared/tools/reading_weight.py, for tests/test_reading_limits.py.

How much a learner reads in each notebook, measured from the notebooks' markdown.

    python ../shared/tools/reading_weight.py [NOTEBOOK_DIR] [--limits]

For each notebook: the markdown words a reader sees (outside <details> folds, badges and link
targets left out), all markdown words (folds included), the largest visible markdown cell, the
visible words before the first picture of digits (the first code cell that calls show_digits or
imshow), and the share of its prose (8-word shingles, folds included) that also stands word for
word in another notebook. With --limits it exits 1 where a figure is over the limit below.
"""
import glob
import json
import re
import sys

LIMITS = {"visible": 1300, "total_visible": 6000, "total_all": 8500, "largest_cell": 150,
          "before_digits_first": 200, "before_digits_others": 150, "shared": 0.20}
PICTURE_OF_DIGITS = re.compile(r"show_digits|imshow")


def visible(markdown):
    markdown = re.sub(r"<details>.*?</details>", " ", markdown, flags=re.S)
    markdown = re.sub(r"\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)", " ", markdown)  # badges
    markdown = re.sub(r"\]\([^)]*\)", "]", markdown)  # link targets
    return re.sub(r"<[^>]+>", " ", markdown)  # other HTML tags


def words(text):
    return re.findall(r"[^\s#*_>|`\[\]]+", text)


def shingles(ws, n=8):
    ws = [w.lower().strip(".,;:()") for w in ws]
    return {" ".join(ws[i:i + n]) for i in range(len(ws) - n + 1)}


def measure(path):
    cells = json.load(open(path, encoding="utf-8"))["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    seen = [len(words(visible(m))) for m in markdown]
    before, found = 0, False
    for c in cells:
        source = "".join(c["source"])
        if c["cell_type"] == "code" and PICTURE_OF_DIGITS.search(source):
            found = True
            break
        if c["cell_type"] == "markdown":
            before += len(words(visible(source)))
    return {"visible": sum(seen), "all": sum(len(words(m)) for m in markdown),
            "largest_cell": max(seen, default=0), "before_digits": before if found else None,
            "shingles": shingles(words(" ".join(markdown)))}


def main(argv):
    folder = next((a for a in argv if not a.startswith("--")), "notebooks")
    paths = sorted(glob.glob(f"{folder}/[0-9]*.ipynb"))
    if not paths:
        sys.exit(f"no numbered notebooks in {folder}/")
    rows = {p: measure(p) for p in paths}
    over = []
    print(f"{'notebook':<34}{'visible':>8}{'all':>7}{'largest':>9}{'before digits':>15}{'shared':>8}")
    for i, (p, r) in enumerate(rows.items()):
        others = set().union(*(q["shingles"] for o, q in rows.items() if o != p))
        r["shared"] = len(r["shingles"] & others) / max(1, len(r["shingles"]))
        name = p.split("/")[-1]
        print(f"{name:<34}{r['visible']:>8}{r['all']:>7}{r['largest_cell']:>9}"
              f"{str(r['before_digits']):>15}{r['shared']:>8.0%}")
        first = "before_digits_first" if i == 0 else "before_digits_others"
        checks = [("visible", r["visible"], LIMITS["visible"]),
                  ("largest_cell", r["largest_cell"], LIMITS["largest_cell"]),
                  ("before_digits", r["before_digits"] if r["before_digits"] is not None else 10**6,
                   LIMITS[first]),
                  ("shared", r["shared"], LIMITS["shared"])]
        over += [f"{name}: {what} {value if what != 'shared' else f'{value:.0%}'} > "
                 f"{limit if what != 'shared' else f'{limit:.0%}'}"
                 for what, value, limit in checks if value > limit]
    total_visible = sum(r["visible"] for r in rows.values())
    total_all = sum(r["all"] for r in rows.values())
    print(f"{'all notebooks':<34}{total_visible:>8}{total_all:>7}")
    over += [f"all notebooks: {what} {value} > {LIMITS['total_' + what]}"
             for what, value in (("visible", total_visible), ("all", total_all))
             if value > LIMITS["total_" + what]]
    if "--limits" in argv:
        print("\n".join(over) if over else "within every limit")
        sys.exit(1 if over else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
