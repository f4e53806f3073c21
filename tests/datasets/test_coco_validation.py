"""Ground truth and results that pycocotools would score wrongly without a word: each is an error
naming the file and the problem, or (when the score stays right) scored correctly with a warning."""
import copy
import json

import pytest

import evaluate
from core.cli import run_cli
from core.errors import InputError
from datasets.coco import load_coco_gt, load_results
from datasets.synthetic.scenes import synthetic_scenes
from tasks.coco_eval import oks_ap


@pytest.fixture()
def scenes():
    return synthetic_scenes(4, seed=5, num_people=3)


def _perfect(d):
    return [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
            for a in d["annotations"] if a["num_keypoints"] > 0]


def _ap(tmp_path, d, res, dataset="coco"):
    (tmp_path / "gt.json").write_text(json.dumps(d))
    (tmp_path / "res.json").write_text(json.dumps(res))
    gt = load_coco_gt(tmp_path / "gt.json", dataset)
    return oks_ap(gt, load_results(tmp_path / "res.json", gt, dataset), dataset)[0]["AP"]


def _error(tmp_path, d, res=None, dataset="coco"):
    with pytest.raises(InputError) as e:
        _ap(tmp_path, d, res if res is not None else _perfect(d), dataset)
    return str(e.value)


def test_perfect_results_score_one(tmp_path, scenes):
    assert _ap(tmp_path, scenes, _perfect(scenes)) == pytest.approx(1.0)


def test_duplicate_annotation_ids_are_an_error(tmp_path, scenes):
    scenes["annotations"][3]["id"] = scenes["annotations"][1]["id"]
    msg = _error(tmp_path, scenes)
    assert msg.startswith("gt.json: annotations[3] and annotations[1] have the same id")


def test_annotations_without_ids_get_fresh_ones_and_score_right(tmp_path, scenes):
    for a in scenes["annotations"][::2]:
        del a["id"]  # the others keep 1.., so numbering these 1.. would collide
    with pytest.warns(UserWarning, match=r"gt.json: \d+ annotation\(s\) have no id"):
        assert _ap(tmp_path, scenes, _perfect(scenes)) == pytest.approx(1.0)


def test_duplicate_image_ids_are_an_error(tmp_path, scenes):
    scenes["images"].append(dict(scenes["images"][0], width=17))
    assert "have the same id" in _error(tmp_path, scenes) and "images[4]" in _error(tmp_path, scenes)


def test_categories_checked(tmp_path, scenes):
    assert "'categories' is empty" in _error(tmp_path, dict(scenes, categories=[]))
    res = _perfect(scenes)
    res[2]["category_id"] = 2
    assert "result [2] category_id 2 is not the ground truth's person category (1)" in _error(tmp_path, scenes, res)
    bad = copy.deepcopy(scenes)
    bad["annotations"][0]["category_id"] = 7
    assert "annotations[0] category_id 7 is not in 'categories'" in _error(tmp_path, bad)


def test_results_without_category_or_with_extra_fields_score_as_keypoints(tmp_path, scenes):
    res = _perfect(scenes)
    for r in res:
        del r["category_id"]
    assert _ap(tmp_path, scenes, res) == pytest.approx(1.0)
    res = _perfect(scenes)
    res[0]["bbox"] = [0, 0, 1, 1]  # pycocotools would take its bbox path from the first entry
    res[1]["segmentation"] = [[0, 0, 1, 0, 1, 1]]
    assert _ap(tmp_path, scenes, res) == pytest.approx(1.0)


def test_box_sizes_checked(tmp_path, scenes):
    scenes["annotations"][1]["bbox"][2] = -30.0
    assert "annotations[1] bbox has a negative width or height" in _error(tmp_path, scenes)
    scenes["annotations"][1]["bbox"][2] = 30.0
    scenes["annotations"][2]["area"] = 0
    assert "annotations[2] has labelled keypoints but area 0" in _error(tmp_path, scenes)


def test_cli_one_line(tmp_path, scenes, capsys):
    scenes["annotations"][3]["id"] = scenes["annotations"][1]["id"]
    (tmp_path / "gt.json").write_text(json.dumps(scenes))
    (tmp_path / "res.json").write_text(json.dumps(_perfect(scenes)))
    rc = run_cli(evaluate.main, ["coco", "--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "have the same id" in err
