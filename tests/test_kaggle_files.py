"""mnist_files() on Kaggle: the four files of a dataset attached under /kaggle/input, found in
any folder layout, gzipped or not, and checked like any other copy.

Kaggle's folder is replaced by a temporary one (mnist_utils.files.KAGGLE_INPUT); the layouts
are those of real Kaggle datasets: the most used MNIST dataset names its files with a dot
(`train-images.idx3-ubyte`), each in a folder of the same name; others keep the official
names, gzipped, several folders down.
"""
import gzip
import shutil

import pytest
from helpers import N_TRAIN, NAMES, ids, tiny_contents, write_files

from mnist_utils import data, files as mnist_files_module
from mnist_utils.data import MnistDataError


@pytest.fixture
def kaggle(tmp_path, monkeypatch):
    """An empty Kaggle input folder, an empty download cache, and no downloads."""
    root = tmp_path / "kaggle" / "input"
    root.mkdir(parents=True)
    monkeypatch.setattr(mnist_files_module, "KAGGLE_INPUT", str(root))
    monkeypatch.setattr(mnist_files_module, "_download",
                        lambda *a: pytest.fail("downloaded although Kaggle has the files"))
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    return root


def dotted(role):
    """The name the most used Kaggle MNIST dataset gives a file: train-images.idx3-ubyte."""
    return NAMES[role].replace("-idx", ".idx")


def lay_out_dotted(root, contents):
    """Like Kaggle's "mnist-dataset": uncompressed, each file in a folder of its own name."""
    for role, raw in contents.items():
        folder = root / "mnist-dataset" / dotted(role)
        folder.mkdir(parents=True)
        (folder / dotted(role)).write_bytes(raw)
    return {role: str(root / "mnist-dataset" / dotted(role) / dotted(role)) for role in contents}


def test_the_dotted_names_in_folders_of_their_own_name(kaggle, tmp_path):
    table = write_files(tmp_path / "reference", tiny_contents())
    expected = lay_out_dotted(kaggle, tiny_contents())
    found = data.mnist_files(known_files=table, cache_dir=tmp_path / "cache")
    assert found == expected
    images, labels = data.load_digits(split="train", files=found)
    assert ids(images).tolist() == list(range(N_TRAIN))
    assert not (tmp_path / "cache" / "datasets" / "mnist").exists() or \
        not any((tmp_path / "cache" / "datasets" / "mnist").iterdir())


@pytest.mark.parametrize("gz", [True, False])
def test_official_names_several_folders_down(kaggle, tmp_path, gz):
    deep = kaggle / "someone" / "mnist" / "versions" / "1" / "raw"
    table = write_files(deep, tiny_contents(), gz=gz)
    found = data.mnist_files(known_files=table, cache_dir=tmp_path / "cache")
    suffix = ".gz" if gz else ""
    assert found == {role: str(deep / (NAMES[role] + suffix)) for role in NAMES}


def test_the_genuine_files_laid_out_as_kaggle_does(kaggle, tmp_path, shared_mnist_dir):
    """The real MNIST files, uncompressed under their dotted names: found, and their md5 (the
    official one, mnist_utils' own table) checked."""
    contents = {role: gzip.decompress((shared_mnist_dir / (name + ".gz")).read_bytes())
                for role, name in NAMES.items()}
    expected = lay_out_dotted(kaggle, contents)
    found = data.mnist_files(cache_dir=tmp_path / "cache")
    assert found == expected
    assert len(data.load_digits(split="train", files=found)[1]) == 60_000


def test_a_damaged_kaggle_copy_is_refused_with_the_usual_error(kaggle, tmp_path):
    table = write_files(tmp_path / "reference", tiny_contents())
    paths = lay_out_dotted(kaggle, tiny_contents())
    with open(paths["test_labels"], "r+b") as f:
        f.truncate(12)
    with pytest.raises(MnistDataError) as error:
        data.mnist_files(known_files=table, cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert paths["test_labels"] in message and "is truncated" in message
    assert "Kaggle dataset" in message and "attach another MNIST dataset" in message


def test_an_altered_kaggle_copy_fails_its_md5(kaggle, tmp_path):
    table = write_files(tmp_path / "reference", tiny_contents())
    altered = dict(tiny_contents())
    altered["train_labels"] = altered["train_labels"][:-1] + b"\x00"  # the last label, 9, made a 0
    paths = lay_out_dotted(kaggle, altered)
    with pytest.raises(MnistDataError, match="md5 of its content") as error:
        data.mnist_files(known_files=table, cache_dir=tmp_path / "cache")
    assert paths["train_labels"] in str(error.value)


def test_a_damaged_gz_next_to_a_good_copy_uses_the_good_one(kaggle, tmp_path):
    folder = kaggle / "mnist"
    table = write_files(folder, tiny_contents(), gz=False)
    (folder / (NAMES["train_images"] + ".gz")).write_bytes(b"\x1f\x8b broken")
    found = data.mnist_files(known_files=table, cache_dir=tmp_path / "cache")
    assert found["train_images"] == str(folder / NAMES["train_images"])


def test_without_a_kaggle_dataset_the_cache_is_used(kaggle, tmp_path):
    (kaggle / "some-other-dataset").mkdir()
    (kaggle / "some-other-dataset" / "train.csv").write_text("label,pixel0\n")
    cache = tmp_path / "cache"
    table = write_files(cache / "datasets" / "mnist", tiny_contents())
    found = data.mnist_files(known_files=table, cache_dir=cache)
    assert found["train_images"] == str(cache / "datasets" / "mnist" / (NAMES["train_images"]
                                                                       + ".gz"))


def test_a_folder_you_name_wins_over_kaggle(kaggle, tmp_path):
    table = write_files(tmp_path / "mine", tiny_contents())
    shutil.copytree(tmp_path / "mine", kaggle / "mnist")
    found = data.mnist_files(tmp_path / "mine", known_files=table)
    assert found["test_images"] == str(tmp_path / "mine" / (NAMES["test_images"] + ".gz"))


def test_no_kaggle_folder_at_all_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_files_module, "KAGGLE_INPUT", str(tmp_path / "no-kaggle-here"))
    assert mnist_files_module._kaggle_candidates(data.MNIST_FILES) == {}
