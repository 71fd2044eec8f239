"""``data.name=imagenet`` on a tiny generated folder in torchvision's ImageNet layout (train/<wnid>/, val/<wnid>/,
meta.bin): the reference transforms at 224 px, WordNet class names, and the in-memory path kept away."""
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from kd.common.utils.errors import ConfigError, MissingPathError
from kd.vision.data import build_data
from kd.vision.data.device_loader import wants_in_memory

WNIDS = {"n01440764": ("tench", "Tinca tinca"), "n01443537": ("goldfish", "Carassius auratus")}


@pytest.fixture
def imagenet_root(tmp_path):
    """Two classes, 3 training and 2 validation JPEGs each, of ImageNet-like non-square sizes, plus meta.bin."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("val", 2)):
        for wnid in WNIDS:
            folder = tmp_path / split / wnid
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (300 + 20 * i, 400, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{wnid}_{i}.JPEG")
    torch.save((WNIDS, []), tmp_path / "meta.bin")  # torchvision's meta file: (wnid -> names, val wnids)
    return tmp_path


def test_imagenet_layout_at_224_with_the_reference_transforms(imagenet_root):
    data = build_data({"name": "imagenet", "root": str(imagenet_root), "batch_size": 4})
    assert (data.num_classes, data.image_shape, data.class_names) == (2, (3, 224, 224), ["tench", "goldfish"])
    assert (len(data.splits.train), len(data.splits.test)) == (6, 4)
    train_steps = [type(s) for s in data.splits.train.transform.transforms]
    assert train_steps[:2] == [T.RandomResizedCrop, T.RandomHorizontalFlip]
    resize, crop = data.splits.test.transform.transforms[:2]
    assert (resize.size, crop.size) == (256, (224, 224))
    x, y = next(iter(data.train_loader))
    assert x.shape == (4, 3, 224, 224) and y.dtype == torch.long
    assert abs(float(x.mean())) < 0.5  # ImageNet-normalised uniform noise is centred near 0
    assert not wants_in_memory("auto", data.splits)  # resized crops are not what the in-memory loader does
    with pytest.raises(ConfigError, match="RandomResizedCrop"):
        wants_in_memory(True, data.splits)


def test_any_train_val_folder_and_another_size(imagenet_root):
    (imagenet_root / "meta.bin").unlink()  # a plain image folder: the folder names are the class names
    data = build_data({"name": "imagenet", "root": str(imagenet_root), "image_size": 160})
    assert data.class_names == list(WNIDS) and data.image_shape == (3, 160, 160)
    assert data.splits.test.transform.transforms[0].size == round(160 * 256 / 224)


def test_missing_imagenet_is_one_line(tmp_path):
    with pytest.raises(MissingPathError, match="neither train/ and val/ class folders nor the archives"):
        build_data({"name": "imagenet", "root": str(tmp_path)})
