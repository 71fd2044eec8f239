"""Vision data sets by name (digits, mnist, fashion_mnist, cifar10, cifar100, imagefolder, imagenet), their loaders,
and the offline soft-label cache.

```python
from kd.vision.data import build_data
data = build_data({"name": "digits", "batch_size": 64})
data.train_loader, data.test_loader, data.num_classes, data.image_shape, data.class_names
```
"""
from kd.vision.data.registry import DATASETS, DataSplits, VisionData, build_data, make_loader
from kd.vision.data import digits, image_folder, imagenet, torchvision_sets  # noqa: F401,E402  (register data sets)
from kd.vision.data.cache_dir import data_root
from kd.vision.data.soft_labels import SoftLabelDataset, cached_soft_labels, label_images

__all__ = ["DATASETS", "DataSplits", "SoftLabelDataset", "VisionData", "build_data", "cached_soft_labels",
           "data_root", "label_images", "make_loader"]
