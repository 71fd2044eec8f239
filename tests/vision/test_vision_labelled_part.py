"""The labelled part of a training set and the transfer set around it (data/labelled.py). The pipeline's use of
them is tested end to end by test_vision_pipeline.py::test_quickstart_end_to_end."""
import torch
from torch.utils.data import TensorDataset

from kd.common.losses import UNLABELLED
from kd.vision.data.labelled import WithLabels, dataset_labels, labelled_indices, masked_labels


def test_labelled_indices_are_stratified_seeded_and_at_least_one_per_class():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 3)
    part = labelled_indices(labels, 0.1, seed=0)
    assert [int((labels[part] == c).sum()) for c in range(3)] == [5, 3, 1]   # round(0.1 * n_c), at least 1
    assert torch.equal(part, labelled_indices(labels, 0.1, seed=0))
    assert not torch.equal(part, labelled_indices(labels, 0.1, seed=1))
    assert torch.equal(labelled_indices(labels, 1.0, seed=3), torch.arange(83))


def test_masked_labels_and_with_labels():
    base = TensorDataset(torch.arange(4.0).view(4, 1), torch.tensor([2, 0, 1, 2]))
    assert torch.equal(dataset_labels(base), torch.tensor([2, 0, 1, 2]))
    masked = masked_labels(dataset_labels(base), torch.tensor([0, 3]))
    assert masked.tolist() == [2, UNLABELLED, UNLABELLED, 2]
    relabelled = WithLabels(base, masked)
    assert [int(relabelled[i][1]) for i in range(4)] == masked.tolist() and relabelled[1][0].item() == 1.0
