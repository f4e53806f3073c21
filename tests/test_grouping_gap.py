"""bench/experiments/grouping_gap.py: who counts as a tag twin, and scoring with them left out."""
import importlib.util

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("grouping_gap", REPO / "bench" / "experiments" / "grouping_gap.py")
gap = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gap)


def _ann(i, x, y, w=40, h=80):
    kps = np.zeros((17, 3))
    kps[:, 0] = x + np.linspace(0, w, 17)
    kps[:, 1] = y + np.linspace(0, h, 17)
    kps[:, 2] = 2
    return {"id": i, "image_id": 1, "category_id": 1, "bbox": [x, y, w, h], "area": float(w * h),
            "iscrowd": 0, "num_keypoints": 17, "keypoints": kps.ravel().tolist()}


def test_tag_twins_need_close_tags_and_overlapping_boxes():
    anns = [_ann(10, 0, 0), _ann(11, 20, 10), _ann(12, 300, 300)]  # 10 and 11 overlap, 12 is apart
    person = torch.tensor([0, 0, 1, 1, 2, 2, -1])
    tag = torch.tensor([[0.0], [0.02], [0.1], [0.12], [0.05], [0.05], [0.08]])
    g = Data(person=person, tag=tag, image_id=torch.tensor(1), num_nodes=7)
    people = {1: (None, None, anns)}
    assert np.concatenate(gap.person_tags(g, 3)) == pytest.approx([0.01, 0.11, 0.05])
    assert gap.tag_twins([g], people, 0.3) == {10, 11}  # 12's tag is as close, but its box is apart
    assert gap.tag_twins([g], people, 0.05) == set()  # 0.10 apart
    g.person = torch.tensor([0, 0, -1, -1, 2, 2, -1])  # person 11 has no candidate: no tag, no twin
    assert gap.tag_twins([g], people, 0.3) == set()


def test_scoring_with_people_left_out():
    anns = [_ann(10, 0, 0), _ann(11, 200, 0)]
    gt = {"images": [{"id": 1, "width": 400, "height": 400}], "annotations": anns,
          "categories": [{"id": 1, "name": "person"}]}
    right = {"image_id": 1, "category_id": 1, "keypoints": anns[0]["keypoints"], "score": 0.9}
    wrong = {"image_id": 1, "category_id": 1, "score": 0.8,
             "keypoints": (np.array(anns[1]["keypoints"]) + np.tile([30.0, 0.0, 0.0], 17)).tolist()}
    results = {"gnn": [right, wrong], "oracle": [right]}
    full = gap.scored(gt, [1], results)
    assert full["gnn"] == pytest.approx(0.5, abs=0.01) and full["oracle"] == pytest.approx(0.5, abs=0.01)
    left_out = gap.scored(gt, [1], results, ignore={11})  # person 11 and what matches it ignored
    assert left_out["gnn"] == pytest.approx(1.0) and left_out["oracle"] == pytest.approx(1.0)
    assert gt["annotations"][1]["iscrowd"] == 0  # the caller's dict is not changed
