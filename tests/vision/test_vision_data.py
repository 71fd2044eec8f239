"""The vision data sets on fixtures the tests write: a tiny CIFAR-10 in the official pickle layout, tiny
ImageFolders of PNGs, the digits default, the offline soft-label cache, and the one-line errors."""
import gzip
import pickle
import re
import shutil
import urllib.request
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

from kd.common.utils.errors import (ConfigError, MissingPathError, OfflineError, UnknownNameError,
                                   UnreadableFileError)
from kd.common.utils.checkpoint import file_fingerprint
from kd.vision.data import SoftLabelDataset, build_data, cached_soft_labels, data_root
from kd.vision.data.registry import augments, make_loader
from kd.vision.model_registry import build_model

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def write_tiny_cifar10(root: Path, per_batch: int = 4, n_test: int = 6) -> Path:
    """cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta} as the official pickles."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def batch(n, name):
        entry = {"batch_label": name, "labels": [int(i % 10) for i in range(n)],
                 "data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
                 "filenames": [f"{name}_{i}.png" for i in range(n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)

    for i in range(1, 6):
        batch(per_batch, f"data_batch_{i}")
    batch(n_test, "test_batch")
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch, "num_vis": 3072}, f)
    return root


def write_tiny_cifar100(root: Path, n_train: int = 8, n_test: int = 4) -> Path:
    """cifar-100-python/{train, test, meta} as the official pickles (fine and coarse labels)."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name, n in (("train", n_train), ("test", n_test)):
        entry = {"fine_labels": [i * 7 % 100 for i in range(n)], "coarse_labels": [i % 20 for i in range(n)],
                 "data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), "batch_label": name,
                 "filenames": [f"{name}_{i}.png" for i in range(n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"class{i}" for i in range(100)],
                     "coarse_label_names": [f"super{i}" for i in range(20)]}, f)
    return root


def write_tiny_mnist(root: Path, folder: str | None, n_train: int = 12, n_test: int = 5, gz: bool = False) -> Path:
    """{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in the IDX format (big-endian header), in
    ``root/<folder>/raw`` (torchvision's layout) or, with ``folder=None``, in ``root`` itself."""
    raw = root / folder / "raw" if folder else root
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    write = (lambda path, data: path.with_name(path.name + ".gz").write_bytes(gzip.compress(data))) if gz else \
        (lambda path, data: path.write_bytes(data))
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        header = np.array([2051, n, 28, 28], dtype=">i4").tobytes()
        write(raw / f"{prefix}-images-idx3-ubyte", header + rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes())
        labels = np.arange(n, dtype=np.uint8) % 10
        write(raw / f"{prefix}-labels-idx1-ubyte", np.array([2049, n], dtype=">i4").tobytes() + labels.tobytes())
    return root


def write_image_folder(root: Path, classes=("cat", "dog", "fox"), per_class: int = 4, size: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / c / f"{i}.png")
    return root


@pytest.fixture
def skip_cifar_checksums(monkeypatch):
    """The fixture's files are not the real ones, so torchvision's MD5 checks are bypassed."""
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)


def test_digits_default():
    data = build_data({"name": "digits", "batch_size": 32})
    sizes = (data.num_classes, data.image_shape, len(data.splits.train), len(data.splits.test))
    assert sizes == (10, (1, 8, 8), 1437, 360)
    x, y = next(iter(data.train_loader))
    assert x.shape == (32, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.long
    assert abs(float(data.splits.train.tensors[0].mean())) < 1e-4  # standardised with the training statistics
    counts = torch.bincount(data.splits.test.tensors[1], minlength=10)
    assert counts.min() >= 35  # stratified split
    up = build_data({"name": "digits", "image_size": 32})
    assert up.image_shape == (1, 32, 32)


def test_test_fraction_on_a_published_split_is_a_one_line_error(tmp_path, skip_cifar_checksums):
    """CIFAR and MNIST keep their own train/test split: a data.test_fraction set off its default is refused in one
    line naming the key, the data set and those that read it (as NLP's data sections are checked)."""
    root = str(write_tiny_cifar10(tmp_path))
    with pytest.raises(ConfigError) as error:
        build_data({"name": "cifar10", "root": root, "download": False, "test_fraction": 0.5})
    assert str(error.value) == ("data.test_fraction=0.5 is not read by data.name=cifar10 (it takes data.root, "
                                "data.augment, data.image_size, data.crop_padding, data.download, "
                                "data.crop_padding_mode); drop it, or use data.name=digits or imagefolder, which "
                                "read it")
    with pytest.raises(ConfigError, match=r"^data.test_fraction=0.3 is not read by data.name=mnist \(.*\); drop it"):
        build_data({"name": "mnist", "test_fraction": 0.3})  # refused before any file is looked for
    with pytest.raises(ConfigError, match=r"^data.skip_bad_images=True is not read by data.name=cifar10 "):
        build_data({"name": "cifar10", "root": root, "skip_bad_images": True})  # the rule of every data.* key


def test_root_download_or_augment_on_digits_is_a_one_line_error():
    """digits reads nothing from disk or the network and has no augmentation: data.root, data.download or
    data.augment set is refused in one line."""
    with pytest.raises(ConfigError) as error:
        build_data({"name": "digits", "root": "/x"})
    assert str(error.value) == ("data.root='/x' is not read by data.name=digits (it takes "
                                "data.image_size, data.test_fraction); drop it, or use data.name=cifar10, cifar100, "
                                "fashion_mnist, imagefolder, imagenet or mnist, which read it")
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match=r"^data.download=False is not read by data.name=digits "):
        build_data({"name": "digits", "download": False})
    with pytest.raises(ConfigError, match=r"^data.augment=False is not read by data.name=digits "):
        build_data({"name": "digits", "augment": False})
    assert not augments({"name": "digits", "augment": True})  # the default, left as it is: digits has no augmentation
    assert augments({"name": "mnist", "augment": True}) and not augments({"name": "mnist", "augment": False})


def test_the_data_keys_at_their_defaults_still_build(tmp_path, skip_cifar_checksums):
    """A config lists every data set's keys at their defaults (default.yaml): none is refused, and digits still reads
    data.test_fraction."""
    root = str(write_tiny_cifar10(tmp_path))
    defaults = {"root": None, "download": True, "test_fraction": 0.2, "skip_bad_images": False,
                "crop_padding": None, "crop_padding_mode": "zeros", "augment": True, "image_size": None}
    digits = build_data({"name": "digits", **defaults})
    assert (len(digits.splits.train), len(digits.splits.test)) == (1437, 360)
    cifar = build_data({"name": "cifar10", **defaults, "root": root, "download": False})
    assert (len(cifar.splits.train), len(cifar.splits.test)) == (20, 6)
    assert len(build_data({"name": "digits", "test_fraction": 0.5}).splits.test) == 899  # digits reads it


def test_cifar10_official_layout(tmp_path, skip_cifar_checksums):
    root = write_tiny_cifar10(tmp_path)
    data = build_data({"name": "cifar10", "root": str(root), "download": False, "batch_size": 8})
    assert (data.num_classes, data.image_shape, list(data.class_names)) == (10, (3, 32, 32), CIFAR_CLASSES)
    assert (len(data.splits.train), len(data.splits.test)) == (20, 6)
    x, y = next(iter(data.train_loader))
    assert x.shape == (8, 3, 32, 32) and y.dtype == torch.long
    plain = data.splits.train_plain[0][0]  # no augmentation: exactly the normalised pixels
    raw = torch.tensor(data.splits.train_plain.data[0]).permute(2, 0, 1).float() / 255
    mean = torch.tensor([0.4914, 0.4822, 0.4465])[:, None, None]
    std = torch.tensor([0.2470, 0.2435, 0.2616])[:, None, None]
    assert torch.allclose(plain, (raw - mean) / std, atol=1e-5)
    torch.manual_seed(0)
    augmented = torch.stack([data.splits.train[0][0] for _ in range(4)])
    assert not all(torch.equal(augmented[0], a) for a in augmented[1:])  # random crop + flip


# A 3x3 image whose channel c holds 10 * v + c, v = 1..9 row by row, and its 3x3 crops after padding by 2 at
# (top, left) offsets of the padded image, worked out by hand: reflection does not repeat the edge row or column
# (rows r2 r1 r0 r1 r2 r1 r0), zeros are black pixels (0 in every channel, before the normalisation).
HAND_CROPS = {("reflect", 0, 0): [[9, 8, 7], [6, 5, 4], [3, 2, 1]],
              ("reflect", 1, 3): [[5, 6, 5], [2, 3, 2], [5, 6, 5]],
              ("reflect", 2, 2): [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
              ("zeros", 0, 0): [[0, 0, 0], [0, 0, 0], [0, 0, 1]],
              ("zeros", 1, 3): [[0, 0, 0], [2, 3, 0], [5, 6, 0]]}
STATS = ((0.5, 0.4, 0.3), (0.2, 0.25, 0.3))


def tiny_rgb(v) -> np.ndarray:
    v = np.asarray(v)
    return np.where(v[..., None] > 0, 10 * v[..., None] + np.arange(3), 0).astype(np.uint8)


@pytest.mark.parametrize("mode, top, left", list(HAND_CROPS))
def test_the_training_crop_pads_with_zeros_or_reflections(monkeypatch, mode, top, left):
    """train_transform's RandomCrop (the DataLoader path of CIFAR and image folders) at a known offset: the crop of
    the padded PIL image, normalised afterwards."""
    from torchvision import transforms as T

    from kd.vision.data.transforms import train_transform

    monkeypatch.setattr(T.RandomCrop, "get_params", staticmethod(lambda img, size: (top, left, *size)))
    transform = train_transform(STATS, (3, 3), flip=False, padding=2, padding_mode=mode)
    x = transform(Image.fromarray(tiny_rgb(np.arange(1, 10).reshape(3, 3))))
    expected = torch.from_numpy(tiny_rgb(HAND_CROPS[mode, top, left]).astype(np.float32) / 255).permute(2, 0, 1)
    mean, std = (torch.tensor(s)[:, None, None] for s in STATS)
    torch.testing.assert_close(x, (expected - mean) / std)


def test_zero_padded_crops_are_unchanged_and_the_default():
    """``padding_mode="zeros"`` (the default) is the transform as it was before the option: the same RandomCrop,
    the same images for the same random draws."""
    from torchvision import transforms as T

    from kd.vision.data.transforms import train_transform

    before = T.Compose([T.RandomCrop((8, 8), padding=2), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(*STATS)])
    images = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    for transform in (train_transform(STATS, (8, 8), padding=2), train_transform(STATS, (8, 8), padding=2,
                                                                                 padding_mode="zeros")):
        for i, image in enumerate(images):
            torch.manual_seed(i)
            old = before(Image.fromarray(image))
            torch.manual_seed(i)
            assert torch.equal(transform(Image.fromarray(image)), old)


def test_cifar_takes_the_padding_mode_and_wrong_ones_are_one_line_errors(tmp_path, skip_cifar_checksums):
    root = str(write_tiny_cifar10(tmp_path))
    cfg = {"name": "cifar10", "root": root, "download": False, "crop_padding": 2}

    def crops(data):
        return [(s.padding, s.padding_mode) for s in data.splits.train.transform.transforms
                if isinstance(s, torchvision.transforms.RandomCrop)]

    assert crops(build_data(cfg)) == [(2, "constant")]
    assert crops(build_data({**cfg, "crop_padding_mode": "reflect"})) == [(2, "reflect")]
    with pytest.raises(ConfigError, match=r"^data.crop_padding_mode must be one of zeros, reflect, not 'mirror'$"):
        build_data({**cfg, "crop_padding_mode": "mirror"})
    with pytest.raises(ConfigError, match=r"^data.crop_padding_mode='reflect' is not read by data.name=digits "):
        build_data({"name": "digits", "crop_padding_mode": "reflect"})  # no padded crops to mirror
    build_data({"name": "digits", "crop_padding_mode": "zeros"})  # the default is every data set's


def test_cifar100_official_layout(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.CIFAR100, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    data = build_data({"name": "cifar100", "root": str(write_tiny_cifar100(tmp_path)), "download": False})
    assert (data.num_classes, len(data.class_names), len(data.splits.train), len(data.splits.test)) == (100, 100, 8, 4)
    assert [int(data.splits.test[i][1]) for i in range(4)] == [0, 7, 14, 21]  # fine labels


@pytest.mark.parametrize("name,folder,layout,gz", [
    ("mnist", "MNIST", "torchvision", False),
    ("fashion_mnist", "FashionMNIST", "torchvision", False),
    ("mnist", "MNIST", "torchvision", True),     # the .gz downloads in MNIST/raw, any gzip bytes (no MD5 check)
    ("mnist", "MNIST", "flat", True),            # the four .gz files in one folder, as downloaded
    ("mnist", "MNIST", "flat", False),
])
def test_mnist_idx_files_as_they_come_need_no_network(tmp_path, monkeypatch, name, folder, layout, gz):
    def no_network(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)  # files present: download=True must not fetch
    root = write_tiny_mnist(tmp_path, folder if layout == "torchvision" else None, gz=gz)
    data = build_data({"name": name, "root": str(root), "batch_size": 4, "augment": False})
    sizes = (data.num_classes, data.image_shape, len(data.splits.train), len(data.splits.test))
    assert sizes == (10, (1, 28, 28), 12, 5)
    x, y = next(iter(data.test_loader))
    assert x.shape == (5, 1, 28, 28) and y.tolist() == [0, 1, 2, 3, 4]
    mean, std = {"mnist": (0.1307, 0.3081), "fashion_mnist": (0.2860, 0.3530)}[name]
    assert torch.allclose(x[0, 0], (data.splits.test.data[0].float() / 255 - mean) / std)


def test_mnist_training_images_are_jittered_by_up_to_two_pixels(tmp_path):
    data = build_data({"name": "mnist", "root": str(write_tiny_mnist(tmp_path, "MNIST")), "download": False})
    plain = data.splits.train_plain[0][0]
    torch.manual_seed(0)
    shifted = [data.splits.train[0][0] for _ in range(20)]
    assert not all(torch.equal(plain, s) for s in shifted)
    padded = F.pad(plain, (2, 2, 2, 2), value=-0.1307 / 0.3081)  # zero pixels, normalised
    windows = {(dy, dx): padded[:, dy:dy + 28, dx:dx + 28] for dy in range(5) for dx in range(5)}
    assert all(any(torch.allclose(s, w) for w in windows.values()) for s in shifted)


def test_mnist_missing_or_broken_files_are_one_line_errors(tmp_path):
    with pytest.raises(MissingPathError) as err:
        build_data({"name": "mnist", "root": str(tmp_path), "download": False})
    message = str(err.value)
    assert "\n" not in message and "train-images-idx3-ubyte" in message and str(tmp_path / "MNIST" / "raw") in message
    root = write_tiny_mnist(tmp_path / "cut", None)
    images = root / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:1000])
    with pytest.raises(UnreadableFileError, match=r"is truncated: its header announces \(12, 28, 28\), 9,408 values, "
                                                  r"the file holds 984; download it again$"):
        build_data({"name": "mnist", "root": str(root), "download": False})
    images.write_bytes(images.read_bytes()[:6])
    with pytest.raises(UnreadableFileError, match=r"is truncated: it ends inside its header; download it again$"):
        build_data({"name": "mnist", "root": str(root), "download": False})
    images.write_bytes(write_tiny_mnist(tmp_path / "whole", None).joinpath(images.name).read_bytes() + b"<html>")
    with pytest.raises(UnreadableFileError, match=r"has 6 bytes past its data: its header announces"):
        build_data({"name": "mnist", "root": str(root), "download": False})
    root = write_tiny_mnist(tmp_path / "mixed", None)
    shutil.copy(write_tiny_mnist(tmp_path / "other", None, n_train=7) / "train-labels-idx1-ubyte", root)
    images, labels = root / "train-images-idx3-ubyte", root / "train-labels-idx1-ubyte"
    with pytest.raises(UnreadableFileError, match=rf"^'{images}' holds 12 images but '{labels}' 7 labels: the two "
                                                  r"files do not belong together$"):
        build_data({"name": "mnist", "root": str(root), "download": False})
    gz = write_tiny_mnist(tmp_path / "gz", None, gz=True) / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:100])  # a download cut short
    with pytest.raises(UnreadableFileError, match=r"train-images-idx3-ubyte.gz' is not a complete gzip file \(.+\); "
                                                  r"download or compress it again$"):
        build_data({"name": "mnist", "root": str(gz.parent), "download": False})
    root = write_tiny_mnist(tmp_path / "label", None)
    labels = root / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + bytes([12]))
    with pytest.raises(UnreadableFileError, match=r"t10k-labels-idx1-ubyte' holds the label 12, outside the 10 "
                                                  r"classes 0 \.\. 9$"):
        build_data({"name": "mnist", "root": str(root), "download": False})


def test_cifar_missing_files_without_download(tmp_path):
    with pytest.raises(MissingPathError, match="cifar10 files not found"):
        build_data({"name": "cifar10", "root": str(tmp_path), "download": False})


def test_offline_download_is_one_line_error(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    for name in ("mnist", "cifar100"):
        with pytest.raises(OfflineError) as err:
            build_data({"name": name, "root": str(tmp_path / name)})
        message = str(err.value)
        assert "\n" not in message and "data.root=" in message and "imagefolder" in message


def test_data_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KD_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("/x") == Path("/x")


def test_image_folder_with_train_test(tmp_path):
    write_image_folder(tmp_path / "train")
    write_image_folder(tmp_path / "val", per_class=2)
    data = build_data({"name": "imagefolder", "root": str(tmp_path), "image_size": 16, "batch_size": 5})
    assert (data.num_classes, data.image_shape, list(data.class_names)) == (3, (3, 16, 16), ["cat", "dog", "fox"])
    assert (len(data.splits.train), len(data.splits.test)) == (12, 6)
    x, y = next(iter(data.test_loader))
    assert x.shape == (6, 3, 16, 16) and sorted(y.tolist()) == [0, 0, 1, 1, 2, 2]


def test_a_train_folder_beside_valid_is_split_as_given_and_one_alone_is_refused(tmp_path):
    """Kaggle's and Roboflow's exports name the test split valid/; train/ alone would have been two classes."""
    write_image_folder(tmp_path / "train")
    with pytest.raises(MissingPathError, match="has train/ but none of test, val, valid, validation beside it"):
        build_data({"name": "imagefolder", "root": str(tmp_path)})
    write_image_folder(tmp_path / "valid", per_class=2)
    data = build_data({"name": "imagefolder", "root": str(tmp_path), "image_size": 16, "batch_size": 5})
    assert list(data.class_names) == ["cat", "dog", "fox"] and (len(data.splits.train), len(data.splits.test)) == (12, 6)


def test_single_image_folder_is_split(tmp_path):
    write_image_folder(tmp_path, per_class=5)
    data = build_data({"name": "imagefolder", "root": str(tmp_path), "test_fraction": 0.2})
    assert (len(data.splits.train), len(data.splits.test), data.image_shape) == (12, 3, (3, 32, 32))
    assert sorted(data.splits.test[i][1] for i in range(3)) == [0, 1, 2]  # stratified


def test_hidden_files_and_folders_are_neither_classes_nor_images(tmp_path):
    """What Jupyter and macOS leave in a folder: an empty ``.ipynb_checkpoints`` (torchvision: a class without
    images, an error), one holding a copy of an image (a sixth dog), ``._`` resource forks beside the images and in
    a zip's ``__MACOSX`` (not images: the decode check refused them)."""
    write_image_folder(tmp_path, per_class=5)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    checkpoints = tmp_path / "dog" / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "0-checkpoint.png").write_bytes((tmp_path / "dog" / "0.png").read_bytes())
    (tmp_path / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    (tmp_path / "__MACOSX" / "cat").mkdir(parents=True)
    (tmp_path / "__MACOSX" / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    data = build_data({"name": "imagefolder", "root": str(tmp_path), "test_fraction": 0.2})
    assert list(data.class_names) == ["cat", "dog", "fox"]
    assert (len(data.splits.train), len(data.splits.test)) == (12, 3)


def test_image_folder_class_mismatch(tmp_path):
    write_image_folder(tmp_path / "train")
    write_image_folder(tmp_path / "test", classes=("cat", "dog"))
    with pytest.raises(ConfigError, match="different class sub-folders"):
        build_data({"name": "imagefolder", "root": str(tmp_path)})


@pytest.mark.parametrize("layout", ["missing", "empty", "no_class_folders", "no_images", "no_root"])
def test_image_folder_errors(tmp_path, layout):
    root = tmp_path / "images"
    if layout != "missing":
        root.mkdir()
    if layout == "no_class_folders":
        Image.new("RGB", (4, 4)).save(root / "loose.png")
    if layout == "no_images":
        (root / "cat").mkdir()
        (root / "cat" / "notes.txt").write_text("not an image")
    cfg = {"name": "imagefolder", "root": None if layout == "no_root" else str(root)}
    with pytest.raises(MissingPathError) as err:
        build_data(cfg)
    assert "\n" not in str(err.value)


class RandomDraws(torch.utils.data.Dataset):
    """Each item a draw from torch's generator, as a torchvision random transform makes in a loader worker."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return torch.rand(())


def test_a_resumed_run_draws_the_augmentations_of_an_uninterrupted_one_in_loader_workers():
    """last.pt restores the main process's generator after epoch 2; epoch 3's draws in a worker must then be the
    uninterrupted run's (persistent workers carried their own streams over from epoch to epoch)."""
    def epochs(loader, which):
        draws = []
        for epoch in which:
            loader.sampler.set_epoch(epoch)
            draws.append(torch.cat(list(loader)))
        return draws

    torch.manual_seed(0)
    straight = make_loader(RandomDraws(), 4, True, seed=0, num_workers=1)
    epochs(straight, [0, 1])
    saved = torch.get_rng_state()
    (third,) = epochs(straight, [2])
    torch.manual_seed(1)  # a new process ...
    torch.set_rng_state(saved)  # ... resumed from last.pt
    (resumed,) = epochs(make_loader(RandomDraws(), 4, True, seed=0, num_workers=1), [2])
    assert torch.equal(third, resumed)


def test_unknown_data_set():
    with pytest.raises(UnknownNameError, match="unknown data set 'imagenet22k'.*cifar10"):
        build_data({"name": "imagenet22k"})


def test_soft_label_cache_and_dataset(tmp_path):
    data = build_data({"name": "digits"})
    teacher = build_model("mlp", 10, 1, 8, hidden=[8])
    ckpt = tmp_path / "model.pt"
    torch.save(teacher.state_dict(), ckpt)
    cache = tmp_path / f"digits-{file_fingerprint(ckpt)}.pt"
    logits, seconds = cached_soft_labels(teacher, data.splits.train_plain, cache, torch.device("cpu"))
    assert logits.shape == (1437, 10) and logits.dtype == torch.float32 and cache.is_file() and seconds > 0
    with torch.no_grad():
        expected = teacher.eval()(data.splits.train_plain.tensors[0][:5])
    assert torch.allclose(logits[:5], expected, atol=0.05)  # labelled at the fast precision (bf16 on such CPUs)
    torch.nn.init.zeros_(teacher.classifier.weight)  # a changed teacher is not consulted: the cache is reused
    assert torch.equal(cached_soft_labels(teacher, data.splits.train_plain, cache, torch.device("cpu"))[0], logits)
    image, label, t = SoftLabelDataset(data.splits.train, logits)[3]
    assert image.shape == (1, 8, 8) and int(label) == int(data.splits.train[3][1]) and torch.equal(t, logits[3])


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_distill_on_cifar_fixture_with_device_resident_loader(tmp_path, skip_cifar_checksums, mode):
    """The pipeline on the real CIFAR-10 loader, through the device-resident (uint8, on-device augmentation) path."""
    from kd.vision.scripts import distill

    root = write_tiny_cifar10(tmp_path / "data")
    rows = distill.main(["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path / "runs"), "data.name=cifar10",
                         f"data.root={root}", "data.download=false", "data.in_memory=true", "data.batch_size=8",
                         f"distill.mode={mode}", "teacher.arch=small_cnn", "student.arch=mlp", "teacher.epochs=1",
                         "student.epochs=1", "student.kwargs={hidden: [16]}"])
    teacher, student = rows.values()
    assert student["params"] == 3 * 32 * 32 * 16 + 16 + 16 * 10 + 10 and 0.0 <= student["agreement"] <= 100.0


@pytest.mark.parametrize("fraction", [0, 1, -0.5, 1.5])
def test_a_test_fraction_outside_zero_and_one_is_one_line(tmp_path, fraction):
    """0 and 1 were sklearn tracebacks on digits, -0.5 passed on an image folder."""
    for section in ({"name": "digits"}, {"name": "imagefolder", "root": str(write_image_folder(tmp_path))}):
        with pytest.raises(ConfigError, match=r"^data.test_fraction must be a fraction strictly between 0 and 1 "
                                              rf"\(e.g. 0.2\), not {re.escape(repr(fraction))}$"):
            build_data({**section, "test_fraction": fraction})


def test_a_test_fraction_that_leaves_no_training_image_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^data.test_fraction=0.99 of 12 images leaves none to train on; lower it$"):
        build_data({"name": "imagefolder", "root": str(write_image_folder(tmp_path)), "test_fraction": 0.99})


def test_a_16_bit_grey_png_keeps_its_top_8_bits_and_a_jpeg_with_a_trailer_decodes(tmp_path):
    """PIL's convert("RGB") clipped a 16-bit PNG's values to white; a JPEG with bytes after its end marker beyond the
    last kilobyte (motion photos) was called truncated."""
    from kd.vision.data.image_folder import _decode_failure, load_image

    grey = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    assert np.array_equal(np.asarray(load_image(str(tmp_path / "grey16.png")))[..., 0], (grey >> 8).astype(np.uint8))
    jpeg = tmp_path / "trailer.jpg"
    Image.fromarray(np.full((16, 16, 3), 128, dtype=np.uint8)).save(jpeg)
    jpeg.write_bytes(jpeg.read_bytes() + b"\0" * 8192)
    assert _decode_failure(str(jpeg)) is None
