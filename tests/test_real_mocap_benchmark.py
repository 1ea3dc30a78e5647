"""benchmarks/real_mocap.py: the split it asks for, when a stage counts as done, and the rows it
reads from the stages' JSON reports."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "real_mocap.py"
_spec = importlib.util.spec_from_file_location("real_mocap", SCRIPT)
assert _spec is not None and _spec.loader is not None
real_mocap = importlib.util.module_from_spec(_spec)
sys.modules["real_mocap"] = real_mocap
_spec.loader.exec_module(real_mocap)


def test_every_take_is_split_by_a_tag(tmp_path: Path) -> None:
    for name in (
        "lafan1/bvh/walk1_subject1.bvh",
        "lafan1/bvh/walk1_subject4.bvh",
        "bandai/dataset-1_bow_sad_001.bvh",
        "cmu/131_04.bvh",
        "xia/angry_walking.bvh",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    tags = real_mocap.split_tags(tmp_path)
    assert tags[:6] == [*(f"style:{s}=test" for s in real_mocap.HELD_OUT_STYLES), "subject:4=val"]
    assert set(tags[6:]) == {
        "subset:dataset-1=train",
        "subject:131=train",
        "style:angry=train",
        "subject:1=train",
    }


def test_a_stage_is_done_when_its_file_holds_its_key(tmp_path: Path) -> None:
    record = tmp_path / "tokenizer.json"
    stage = real_mocap.Stage("tokenize fit", ("tokenize", "fit"), record, "stages.2")
    assert not real_mocap.is_done(stage)
    record.write_text(json.dumps({"stages": {"1": {}}}))
    assert not real_mocap.is_done(stage)
    record.write_text(json.dumps({"stages": {"1": {}, "2": {}}}))
    assert real_mocap.is_done(stage)


def test_rows_judge_the_targets() -> None:
    def summary(mean: float) -> dict[str, float]:
        return {"mean": mean, "ci95": 0.01}

    t2m = {
        "protocol": {"clips": 73},
        "rows": {
            "Real": {"r_precision_top3": summary(0.5)},
            "model": {"r_precision_top3": summary(0.34)},
        },
    }
    assert [row.met for row in real_mocap.t2m_rows(t2m)] == ["", "no"]  # 0.34 < 0.7 * 0.5
    m2t = {
        "protocol": {"clips": 73},
        "captions": {"baseline": {"system": "most frequent"}},
        "rows": {"most frequent": {"bleu4": summary(0.0)}, "model": {"bleu4": summary(3.0)}},
    }
    assert [row.met for row in real_mocap.m2t_rows(m2t)] == ["", "yes"]
    lengths = {f"l2p@{n}": value for n, value in zip((5, 15, 30, 45), (1, 2, 3, 4), strict=True)}
    btwn = {
        "protocol": {"test_windows": {"count": 576}, "transitions": [5, 15, 30, 45]},
        "rows": {
            "interpolation": lengths,
            "zero velocity": lengths,
            "model": {key: value / 2 for key, value in lengths.items()},
        },
    }
    ratio = real_mocap.btwn_rows(btwn)[-1]
    assert (ratio.value, ratio.met) == (0.5, "goal")
    tokenizer = {
        "clips": 67,
        "decoders": {"vqvae": {"mpjpe_body": 0.2, "pa_mpjpe_body": 0.1, "fde": 0.25}},
    }
    assert [row.met for row in real_mocap.reconstruction_rows(tokenizer)] == ["no", "", "yes"]
