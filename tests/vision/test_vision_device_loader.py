"""The device-resident loader and the augmentation-aware logit cache, checked on CPU tensors.

Crops and flips are compared with a NumPy reference of torchvision's RandomCrop(padding) + flip; the
order and the augmentation are functions of (seed, epoch) only; ranks split an epoch without losing or
reordering an image; the cache labels every (image, view) once, a student epoch runs no teacher forward
and gets exactly the logits the teacher gave the pixels it sees. GPU tests run through the device tool.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kd.common.engine import Distiller, predict
from kd.common.utils.device import prepare_model
from kd.common.utils.errors import ConfigError
from kd.vision.data.augmentation_cache import AugmentedLogitCache
from kd.vision.data.device_loader import DeviceImageLoader
from kd.vision.methods import METHODS

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def pixels(n=10, size=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), rng.integers(0, 3, n)


def reference(image: np.ndarray, dy: int, dx: int, flip: bool, pad: int, mode: str = "zeros") -> torch.Tensor:
    """torchvision's RandomCrop(size, padding=pad, padding_mode=constant (zero fill) | reflect) + flip + ToTensor +
    Normalize, in NumPy."""
    h, w, _ = image.shape
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="constant" if mode == "zeros" else mode)
    crop = padded[dy:dy + h, dx:dx + w]
    crop = crop[:, ::-1] if flip else crop
    x = torch.from_numpy(crop.astype(np.float32) / 255).permute(2, 0, 1)
    return (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]


def loader(images, labels, **kw):
    kw.setdefault("batch_size", 4)
    return DeviceImageLoader(images, labels, mean=MEAN, std=STD, **kw)


def one_epoch(dl, epoch=0):
    dl.set_epoch(epoch)
    return [torch.cat(parts) for parts in zip(*list(dl))]


@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_crop_and_flip_match_the_torchvision_recipe(mode):
    images, labels = pixels()
    dl = loader(images, labels, augment=True, pad=2, pad_mode=mode, shuffle=True, seed=3)
    order, dy, dx, flip, _ = dl.epoch_plan()
    x, y = one_epoch(dl)
    assert x.shape == (10, 3, 6, 6) and x.dtype == torch.float32 and len(dl) == 3
    assert torch.equal(y, torch.as_tensor(labels)[order])
    assert set(dy.tolist()) | set(dx.tolist()) <= set(range(5)) and 0 < int(flip.sum()) < 10
    for b, i in enumerate(order.tolist()):
        torch.testing.assert_close(x[b], reference(images[i], int(dy[b]), int(dx[b]), bool(flip[b]), 2, mode))


# A 3x3 image whose channel c holds 10 * v + c, v = 1..9 row by row; padded by 2 with reflection (the edge row or
# column is not repeated), row r0 = (1, 2, 3) becomes (3, 2, 1, 2, 3, 2, 1) and the rows run r2 r1 r0 r1 r2 r1 r0.
TINY = np.arange(1, 10, dtype=np.uint8).reshape(3, 3)
# (dy, dx, flip) -> the 3x3 crop of v, worked out by hand from the padded image above
REFLECTED_CROPS = {(0, 0, False): [[9, 8, 7], [6, 5, 4], [3, 2, 1]],   # the corner: the image turned by 180 degrees
                   (1, 3, False): [[5, 6, 5], [2, 3, 2], [5, 6, 5]],   # rows r1 r0 r1, columns c1 c2 c1
                   (2, 2, False): [[1, 2, 3], [4, 5, 6], [7, 8, 9]],   # the centre: the image itself
                   (0, 0, True): [[7, 8, 9], [4, 5, 6], [1, 2, 3]]}    # the corner crop mirrored
ZERO_CROPS = {(0, 0, False): [[0, 0, 0], [0, 0, 0], [0, 0, 1]],
              (1, 3, False): [[0, 0, 0], [2, 3, 0], [5, 6, 0]],
              (2, 2, False): [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
              (0, 0, True): [[0, 0, 0], [0, 0, 0], [1, 0, 0]]}


def tiny_images(n: int) -> np.ndarray:
    return np.repeat((10 * TINY[None, :, :, None] + np.arange(3)[None, None, None, :]).astype(np.uint8), n, axis=0)


def normalised(v: list[list[int]]) -> torch.Tensor:
    """The normalised (3, 3, 3) image of the hand-computed crop ``v`` (a 0 is a black pixel in every channel)."""
    v = np.asarray(v)
    pixels = np.where(v[..., None] > 0, 10 * v[..., None] + np.arange(3), 0).astype(np.float32)
    x = torch.from_numpy(pixels / 255).permute(2, 0, 1)
    return (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]


@pytest.mark.parametrize("mode, crops", [("reflect", REFLECTED_CROPS), ("zeros", ZERO_CROPS)])
def test_crops_at_known_offsets_are_the_hand_computed_pixels(mode, crops):
    """The padding is of the raw pixels, before the normalisation: a zero is a black pixel (-mean/std once
    normalised), a reflection repeats the image's own pixels."""
    offsets = list(crops)
    dl = loader(tiny_images(len(offsets)), [0] * len(offsets), augment=True, pad=2, pad_mode=mode,
                batch_size=len(offsets))
    plan = (torch.arange(len(offsets)), *(torch.tensor([o[k] for o in offsets]) for k in range(3)),
            torch.full((len(offsets),), -1))
    dl.epoch_plan = lambda: plan  # the crops at these offsets, through the loader's gather and normalisation
    x, _ = next(iter(dl))
    for b, offset in enumerate(offsets):
        torch.testing.assert_close(x[b], normalised(crops[offset]))


def test_zero_padding_is_unchanged_and_the_default():
    """``pad_mode="zeros"`` (the default) is what the loader did before the option existed: the pixels zero-padded
    once with F.pad, the same batches."""
    images, labels = pixels()
    default = loader(images, labels, augment=True, pad=2, shuffle=True, seed=3)
    zeros = loader(images, labels, augment=True, pad=2, pad_mode="zeros", shuffle=True, seed=3)
    assert default.pad_mode == "zeros"
    assert torch.equal(zeros.padded, F.pad(torch.as_tensor(images), (0, 0, 2, 2, 2, 2)))
    assert all(torch.equal(a, b) for a, b in zip(one_epoch(default, 1), one_epoch(zeros, 1)))
    reflect = loader(images, labels, augment=True, pad=2, pad_mode="reflect", shuffle=True, seed=3)
    assert torch.equal(reflect.pixels, torch.as_tensor(images))  # the same images inside the border
    assert not torch.equal(one_epoch(reflect, 1)[0], one_epoch(zeros, 1)[0])


def test_unknown_or_impossible_padding_modes_are_one_line_errors():
    images, labels = pixels(size=6)
    with pytest.raises(ConfigError, match=r"^data.crop_padding_mode must be one of zeros, reflect, not 'mirror'$"):
        loader(images, labels, augment=True, pad=2, pad_mode="mirror")
    with pytest.raises(ConfigError, match=r"^data.crop_padding_mode=reflect mirrors at most 5 pixels of a 6x6 image, "
                                          r"not data.crop_padding=6; pad less, or use zeros$"):
        loader(images, labels, augment=True, pad=6, pad_mode="reflect")


def test_without_augmentation_it_is_the_plain_normalised_image_in_order():
    images, labels = pixels()
    x, y = one_epoch(loader(images, labels))
    for i in range(10):
        torch.testing.assert_close(x[i], reference(images[i], 0, 0, False, pad=0))
    assert torch.equal(y, torch.as_tensor(labels))


def test_flip_really_flips():
    images, labels = pixels(n=64)
    dl = loader(images, labels, augment=True, pad=0, batch_size=64)
    _, _, _, flip, _ = dl.epoch_plan()
    x, _ = one_epoch(dl)
    plain, _ = one_epoch(loader(images, labels, batch_size=64))
    assert 10 < int(flip.sum()) < 54
    torch.testing.assert_close(x[flip], plain[flip].flip(-1))
    torch.testing.assert_close(x[~flip], plain[~flip])
    assert not torch.equal(x[flip], plain[flip])


def test_order_and_augmentation_depend_only_on_seed_and_epoch():
    images, labels = pixels()
    first = one_epoch(loader(images, labels, augment=True, shuffle=True, seed=5), epoch=2)
    again = one_epoch(loader(images, labels, augment=True, shuffle=True, seed=5), epoch=2)
    other_epoch = one_epoch(loader(images, labels, augment=True, shuffle=True, seed=5), epoch=3)
    other_seed = one_epoch(loader(images, labels, augment=True, shuffle=True, seed=6), epoch=2)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other_epoch[0]) and not torch.equal(first[0], other_seed[0])
    # the same order as EpochShuffleSampler with the same seed
    from kd.common.engine import EpochShuffleSampler
    sampler = EpochShuffleSampler(10, seed=5)
    sampler.set_epoch(2)
    dl = loader(images, labels, shuffle=True, seed=5)
    dl.set_epoch(2)
    assert dl.epoch_plan()[0].tolist() == list(sampler)


def per_image_flips(dl, epoch):
    """The flip of image i in ``epoch`` (epoch_plan gives them in batch order)."""
    dl.set_epoch(epoch)
    order, _, _, flip, _ = dl.epoch_plan()
    out = torch.empty_like(flip)
    out[order] = flip
    return out


def test_random_flips_are_the_draws_of_seed_plus_epoch():
    """``flip: random`` (the default) is unchanged: after the order and the crops, the generator of seed + epoch
    draws one Bernoulli(1/2) per image."""
    images, labels = pixels(n=32)
    dl = loader(images, labels, augment=True, pad=2, shuffle=True, seed=5)
    for epoch in range(3):
        g = torch.Generator().manual_seed(5 + epoch)
        torch.randperm(32, generator=g), torch.randint(0, 5, (2, 32), generator=g)
        assert torch.equal(per_image_flips(dl, epoch), torch.randint(0, 2, (32,), generator=g).bool())


def test_alternating_flip_mirrors_each_image_every_other_epoch():
    images, labels = pixels(n=32)
    random = loader(images, labels, augment=True, pad=2, shuffle=True, seed=5)
    alternate = loader(images, labels, augment=True, pad=2, shuffle=True, seed=5, flip_mode="alternate")
    first = per_image_flips(alternate, 0)
    assert torch.equal(first, per_image_flips(random, 0)) and 0 < int(first.sum()) < 32  # epoch 0: random
    assert torch.equal(per_image_flips(alternate, 1), ~first)
    assert torch.equal(per_image_flips(alternate, 2), first)
    assert torch.equal(per_image_flips(alternate, 3), ~first)
    alternate.set_epoch(1), random.set_epoch(1)  # order and crops are still drawn afresh each epoch
    assert all(torch.equal(a, b) for a, b in zip(alternate.epoch_plan()[:3], random.epoch_plan()[:3]))
    with pytest.raises(ConfigError, match="data.flip must be one of random, alternate, not 'sometimes'"):
        loader(images, labels, flip_mode="sometimes")


def test_ranks_split_the_epoch_and_see_the_same_augmentation():
    images, labels = pixels(n=11)
    whole = loader(images, labels, augment=True, shuffle=True, seed=1, batch_size=3)
    ranks = [loader(images, labels, augment=True, shuffle=True, seed=1, batch_size=3, num_replicas=2, rank=r)
             for r in range(2)]
    x_all, _ = one_epoch(whole, epoch=1)
    x_ranks = [one_epoch(r, epoch=1)[0] for r in ranks]
    assert [len(r) for r in ranks] == [2, 2] and [x.shape[0] for x in x_ranks] == [6, 6]
    interleaved = torch.stack(x_ranks, dim=1).flatten(0, 1)[:11]  # what predict's gather does
    torch.testing.assert_close(interleaved, x_all)


def test_offline_logits_ride_along_and_predict_reads_the_loader():
    images, labels = pixels()
    logits = torch.randn(10, 3)
    x, y, t = one_epoch(loader(images, labels, teacher_logits=logits, shuffle=True))
    order = loader(images, labels, shuffle=True).epoch_plan()[0]
    assert torch.equal(t, logits[order])
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 36, 3))
    out, targets = predict(model, loader(images, labels), torch.device("cpu"))
    assert out.shape == (10, 3) and torch.equal(targets, torch.as_tensor(labels))


class CountingTeacher(nn.Module):
    """A fixed conv net that counts the images it has labelled."""

    def __init__(self, num_classes=3, size=6):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.classifier = nn.Linear(4 * size * size, num_classes)
        self.images_seen = 0

    def forward(self, x):
        self.images_seen += x.shape[0]
        return self.classifier(F.relu(self.conv(x)).flatten(1))


def test_cache_labels_each_view_once_and_student_epochs_run_no_teacher():
    images, labels = pixels(n=9)
    teacher = CountingTeacher()
    cache = AugmentedLogitCache.build(teacher, images, mean=MEAN, std=STD, num_views=4, pad=2, seed=0,
                                      batch_size=4, progress=False)
    assert teacher.images_seen == 9 * 4 and cache.logits.shape == (9, 4, 3)
    codes = cache.dy * 100 + cache.dx * 2 + cache.flip.long()
    assert all(len(set(row.tolist())) == 4 for row in codes)  # the views of an image are distinct
    dl = loader(images, labels, augment=True, pad=2, shuffle=True, views=cache)
    seen_views = torch.zeros(9, 4, dtype=torch.long)
    for epoch in range(4):
        dl.set_epoch(epoch)
        for x, y, t in dl:
            with torch.no_grad():
                torch.testing.assert_close(t, teacher(x), atol=2e-2, rtol=1e-2)  # fp16 cache
        order, _, _, _, view = dl.epoch_plan()
        seen_views[order, view] += 1
    teacher.images_seen -= 4 * 9  # the checks above ran the teacher; the loader itself never did
    assert teacher.images_seen == 9 * 4
    assert torch.equal(seen_views, torch.ones(9, 4, dtype=torch.long))  # K epochs visit every view once


def test_every_crop_and_flip_is_the_pool_when_num_views_is_none():
    dy, dx, flip, _ = AugmentedLogitCache.draw_views(2, None, pad=4)
    assert dy.shape == (2, 162)
    assert len(set(zip(dy[0].tolist(), dx[0].tolist(), flip[0].tolist()))) == 162


def test_cache_is_reused_for_the_same_teacher_and_rebuilt_for_another(tmp_path):
    images, _ = pixels(n=5)
    teacher = CountingTeacher()
    kw = dict(mean=MEAN, std=STD, num_views=2, pad=2, progress=False)
    first = AugmentedLogitCache.load_or_build(tmp_path / "c.pt", teacher, images, fingerprint="a", **kw)
    again = AugmentedLogitCache.load_or_build(tmp_path / "c.pt", teacher, images, fingerprint="a", **kw)
    assert teacher.images_seen == 10 and torch.equal(first.logits, again.logits)
    AugmentedLogitCache.load_or_build(tmp_path / "c.pt", teacher, images, fingerprint="b", **kw)
    assert teacher.images_seen == 20


def test_student_learns_from_the_cache_alone():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 256)
    images = rng.integers(0, 120, (256, 10, 10, 3), dtype=np.uint8)
    images[labels == 1, :, :, 2] += 120  # class 1 is bluer
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(300, 2))
    with torch.no_grad():  # a teacher that reads the blue channel: logit_1 - logit_0 = mean blue (normalised)
        teacher[1].weight.zero_()
        teacher[1].weight[1, 200:] = 4.0 / 100
        teacher[1].bias.copy_(torch.tensor([0.0, -0.5]))
    cache = AugmentedLogitCache.build(teacher, images, mean=MEAN, std=STD, num_views=3, pad=2, progress=False)
    torch.manual_seed(0)
    student = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    method = METHODS.build("kd", teacher=None, student=student, num_classes=2, image_shape=(3, 10, 10))
    train = loader(images, labels, augment=True, pad=2, shuffle=True, views=cache, batch_size=32)
    test = loader(images, labels, batch_size=64)
    opt = torch.optim.Adam(student.parameters(), 3e-2)
    Distiller(student, method, opt, device=torch.device("cpu"), progress=False).fit(train, 6)
    logits, y = predict(student, test, torch.device("cpu"))
    teacher_logits, _ = predict(teacher, test, torch.device("cpu"))
    assert (logits.argmax(-1) == y).float().mean() > 0.9
    assert (logits.argmax(-1) == teacher_logits.argmax(-1)).float().mean() > 0.9


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_batches_are_channels_last_and_equal_the_cpu_ones():
    images, labels = pixels(n=64, size=32)
    cpu = one_epoch(loader(images, labels, augment=True, shuffle=True, seed=2, batch_size=16))
    dl = loader(images, labels, augment=True, shuffle=True, seed=2, batch_size=16, device="cuda")
    x, _ = next(iter(dl))
    assert x.is_cuda and x.is_contiguous(memory_format=torch.channels_last)
    gpu = one_epoch(dl)
    torch.testing.assert_close(gpu[0].cpu(), cpu[0])
    assert torch.equal(gpu[1].cpu(), cpu[1])


def test_device_resident_copies_the_dataloader_path_of_an_image_folder(tmp_path):
    from PIL import Image

    from kd.vision.data import build_data
    from kd.vision.data.device_loader import device_resident

    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 4)):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / split / cls / f"{i}.png")
    data = build_data({"name": "imagefolder", "root": str(tmp_path), "batch_size": 4, "eval_batch_size": 3})
    fast = device_resident(data, torch.device("cpu"), seed=0)
    assert (fast.train_loader.pad, fast.train_loader.flip, fast.train_loader.batch_size) == (4, True, 4)
    for (x, y), (fx, fy) in zip(data.test_loader, fast.test_loader):
        torch.testing.assert_close(fx, x, atol=1e-5, rtol=1e-5)
        assert torch.equal(fy, y)
    x, y = one_epoch(fast.train_loader)
    assert x.shape == (12, 3, 32, 32) and sorted(y.tolist()) == [0] * 6 + [1] * 6
    translated = build_data({"name": "imagefolder", "root": str(tmp_path), "batch_size": 4, "crop_padding": 2})
    assert device_resident(translated, torch.device("cpu"), seed=0).train_loader.pad == 2
    with pytest.raises(ConfigError, match="crop_padding"):
        build_data({"name": "imagefolder", "root": str(tmp_path), "crop_padding": -1})


def test_labelled_views_loader_builds_once_from_the_loader_itself(tmp_path):
    from kd.vision.data.augmentation_cache import labelled_views_loader

    images, labels = pixels(n=6)
    teacher = CountingTeacher()
    train = loader(images, labels, augment=True, pad=2, shuffle=True)
    assert torch.equal(train.pixels, torch.as_tensor(images))
    views = labelled_views_loader(train, teacher, tmp_path / "v.pt", fingerprint="t", num_views=2)
    again = labelled_views_loader(train, teacher, tmp_path / "v.pt", fingerprint="t", num_views=2)
    assert teacher.images_seen == 6 * 2 and len(next(iter(views))) == 3
    assert torch.equal(views.views.logits, again.views.logits)
    with pytest.raises(ConfigError, match="rebuild the cache"):
        loader(images, labels, augment=True, pad=4).with_views(views.views)


def test_labelled_views_are_cut_from_images_padded_as_the_loader_pads_them(tmp_path):
    """distill.views / run.views: the views are crops of the loader's images, so they follow its padding mode; the
    teacher's logits of each view are the teacher's logits of the reflect-padded crop the student sees."""
    from kd.vision.data.augmentation_cache import labelled_views_loader

    images, labels = pixels(n=6)
    teacher = CountingTeacher()
    train = loader(images, labels, augment=True, pad=2, pad_mode="reflect", shuffle=True)
    views = labelled_views_loader(train, teacher, tmp_path / "v.pt", fingerprint="t", num_views=3)
    assert views.views.pad_mode == "reflect"
    for epoch in range(3):
        views.set_epoch(epoch)
        for x, _, t in views:
            with torch.no_grad():
                torch.testing.assert_close(t, teacher(x), atol=2e-2, rtol=1e-2)  # fp16 cache
    seen = teacher.images_seen
    again = labelled_views_loader(train, teacher, tmp_path / "v.pt", fingerprint="t", num_views=3)
    assert teacher.images_seen == seen and again.views.pad_mode == "reflect"  # read back from the file
    zeros = loader(images, labels, augment=True, pad=2, shuffle=True)
    with pytest.raises(ConfigError, match=r"padded by 2 \(reflect\), the loader 6 padded by 2 \(zeros\); rebuild"):
        zeros.with_views(views.views)
    labelled_views_loader(zeros, teacher, tmp_path / "v.pt", fingerprint="t", num_views=3)  # relabelled
    assert teacher.images_seen == seen + 6 * 3


def test_a_views_cache_saved_before_the_padding_mode_is_a_zero_padded_one(tmp_path):
    images, _ = pixels(n=5)
    teacher = CountingTeacher()
    kw = dict(mean=MEAN, std=STD, num_views=2, pad=2, progress=False)
    AugmentedLogitCache.load_or_build(tmp_path / "c.pt", teacher, images, fingerprint="a", **kw)
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    del state["pad_mode"], state["meta"]["pad_mode"]  # the file as the earlier version wrote it
    torch.save(state, tmp_path / "c.pt")
    cache = AugmentedLogitCache.load_or_build(tmp_path / "c.pt", teacher, images, fingerprint="a", **kw)
    assert teacher.images_seen == 10 and cache.pad_mode == "zeros"  # reused, not relabelled
    AugmentedLogitCache.load_or_build(tmp_path / "c.pt", teacher, images, fingerprint="a", pad_mode="reflect", **kw)
    assert teacher.images_seen == 20


def test_device_resident_takes_the_padding_mode_of_the_dataloader_path(tmp_path):
    from PIL import Image

    from kd.vision.data import build_data
    from kd.vision.data.device_loader import device_resident

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    cfg = {"name": "imagefolder", "root": str(tmp_path), "image_size": 8, "test_fraction": 0.34, "crop_padding": 2}
    for mode in ("zeros", "reflect"):
        data = build_data({**cfg, "crop_padding_mode": mode})
        crop = data.splits.train.dataset.transform.transforms[2]
        assert crop.padding_mode == {"zeros": "constant", "reflect": "reflect"}[mode]
        train = device_resident(data, torch.device("cpu"), seed=0).train_loader
        assert (train.pad, train.pad_mode) == (2, mode)
    assert build_data(cfg).splits.train.dataset.transform.transforms[2].padding_mode == "constant"  # the default


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_the_cache_and_a_bf16_kd_step_run_on_the_device():
    images, labels = pixels(n=64, size=32)
    teacher = CountingTeacher(size=32).cuda()
    cache = AugmentedLogitCache.build(teacher, images, mean=MEAN, std=STD, num_views=2, device="cuda", progress=False)
    cpu_cache = AugmentedLogitCache.build(teacher.cpu(), images, mean=MEAN, std=STD, num_views=2, progress=False)
    torch.testing.assert_close(cache.logits.float(), cpu_cache.logits.float(), atol=5e-2, rtol=5e-2)  # bf16 vs fp32
    student = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                            nn.Linear(4, 3)).cuda()
    student = student.to(memory_format=torch.channels_last)
    method = METHODS.build("kd", teacher=None, student=student, num_classes=3, image_shape=(3, 32, 32))
    train = loader(images, labels, augment=True, shuffle=True, views=cache, batch_size=16, device="cuda")
    distiller = Distiller(student, method, torch.optim.SGD(student.parameters(), 0.1), device=torch.device("cuda"),
                          progress=False)
    history = distiller.fit(train, 2)
    assert all(np.isfinite(r["loss"]) for r in history)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_a_training_step_never_waits_for_the_host():
    """The fast path's promise: between logging points a Distiller step queues GPU work and returns;
    CUDA's sync debug mode raises on any synchronising call (``.item()``, a device-to-host copy)."""
    images, labels = pixels(n=64, size=32)
    device = torch.device("cuda")
    teacher = CountingTeacher(size=32).to(device)
    student = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    student = prepare_model(student, device)
    method = METHODS.build("kd", teacher=teacher, student=student, num_classes=3, image_shape=(3, 32, 32))
    distiller = Distiller(student, method, torch.optim.SGD(student.parameters(), 0.1, momentum=0.9), device=device,
                          teacher=teacher, grad_clip=1.0, progress=False)
    batches = list(loader(images, labels, augment=True, shuffle=True, batch_size=16, device="cuda"))
    distiller.train_step(batches[0])  # first call: cuDNN autotuning and lazy initialisation may sync
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for batch in batches[1:]:
            terms = distiller.train_step(batch)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(terms["loss"]).item()


def test_a_labelled_part_and_a_transfer_set_on_the_device_loader():
    """``subset`` keeps the chosen images with their labels and offline logits; ``with_labels`` relabels
    (e.g. UNLABELLED outside the labelled part) without touching the images."""
    from kd.common.losses import UNLABELLED
    from kd.vision.data.labelled import masked_labels

    images, labels = pixels()
    logits = torch.randn(10, 3)
    full = loader(images, labels, teacher_logits=logits)
    keep = torch.tensor([1, 4, 7])
    x, y, t = one_epoch(full.subset(keep))
    x_all, _, _ = one_epoch(full)
    assert torch.equal(x, x_all[keep]) and torch.equal(t, logits[keep])
    assert torch.equal(y, torch.as_tensor(labels)[keep])
    relabelled = full.with_labels(masked_labels(torch.as_tensor(labels), keep))
    x2, y2, _ = one_epoch(relabelled)
    assert torch.equal(x2, x_all) and (y2 == UNLABELLED).sum() == 7 and torch.equal(y2[keep], y[:3])
    with pytest.raises(ConfigError, match="9 labels for 10 images"):
        full.with_labels(torch.zeros(9))


def test_in_memory_auto_takes_pixel_arrays_and_small_folders_not_float_tensors(tmp_path):
    """``data.in_memory: auto``: CIFAR/MNIST-like arrays and image folders within the budget go in memory,
    already-decoded float tensors (digits) stay on the DataLoader path; the decision costs no decoding."""
    from PIL import Image

    from kd.vision.data import build_data
    from kd.vision.data.device_loader import IN_MEMORY_BUDGET, decoded_bytes, wants_in_memory

    digits = build_data({"name": "digits"})
    assert decoded_bytes(digits.splits.train_plain) is None and not wants_in_memory("auto", digits.splits)
    assert wants_in_memory(True, digits.splits) is True
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("RGB", (20, 20), (80 * i, 0, 0)).save(tmp_path / c / f"{i}.png")
    folder = build_data({"name": "imagefolder", "root": str(tmp_path), "image_size": 8, "test_fraction": 0.5})
    assert decoded_bytes(folder.splits.train_plain) == 3 * 3 * 8 * 8   # 3 training images of 3 x 8 x 8 bytes
    assert wants_in_memory("auto", folder.splits)
    assert 1_281_167 * 3 * 224 * 224 > IN_MEMORY_BUDGET                  # an ImageNet-size folder stays out
    with pytest.raises(ConfigError, match="in_memory must be auto, true or false"):
        wants_in_memory("yes", folder.splits)


def test_unaugmented_view_gives_the_plain_images_in_order():
    images, labels = pixels()
    train = loader(images, labels, augment=True, shuffle=True, teacher_logits=torch.randn(10, 3))
    plain = train.unaugmented(batch_size=3)
    x, y = one_epoch(plain)
    assert len(list(plain)[0]) == 2 and torch.equal(y, torch.as_tensor(labels))
    expected = torch.stack([reference(images[i], 4, 4, False, 4) for i in range(10)])  # the centre crop: no shift
    assert torch.allclose(x, expected, atol=1e-5)
