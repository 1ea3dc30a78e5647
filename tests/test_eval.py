"""`vermo eval`: all nine benchmarks run end to end with a tiny model and tiny evaluators, write
the documented JSON, score the ground truth as it must be scored, and fail clearly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import RECIPES, cli_error, run_cli

from vermo_cli.evaluate.benchmark import summarize

pytestmark = pytest.mark.slow

BENCHMARKS = ("t2m", "mt2m", "m2t", "mm2t", "m2d", "d2m", "s2g", "pred", "btwn")


@pytest.fixture(scope="module")
def workspace(token_workspace: Path, trained_runs: Path) -> Path:
    """The tiny sft model and tiny evaluators (text-motion for 1 and 2 people, gesture)."""
    root, runs = token_workspace, trained_runs
    corpus = root / "corpus"
    for name, extra in (
        ("tm1", ["--kind", "text-motion", "--headcount", "1"]),
        ("tm2", ["--kind", "text-motion", "--headcount", "2"]),
        ("gesture", ["--kind", "gesture"]),
    ):
        run_cli("eval", "fit-evaluator", "--data", corpus, *extra, "--steps", "3",
                "--batch-size", "4", "-o", runs / name)  # fmt: skip
    return runs


def evaluate(runs: Path, task: str, *extra: object) -> dict:
    evaluator = runs / ("tm2" if task in ("mt2m", "mm2t") else "tm1")
    output = runs / "reports" / f"{task}.json"
    printed = run_cli(
        "eval", task, "--checkpoint", runs / "sft", "--split", "train", "--limit", "4",
        "--replications", "2", "--evaluator", evaluator, "--gesture-evaluator",
        runs / "gesture", "--multimodality-prompts", "2", "--multimodality-samples", "2",
        "--batch-size", "8", "--json", output, "--overwrite", *extra,
    )  # fmt: skip
    printed = " ".join(printed.split())
    assert f"wrote {output}" in printed

    def refuse(constant: str) -> None:
        raise ValueError(f"{output} is not strict JSON: {constant}")

    report = json.loads(output.read_text(), parse_constant=refuse)
    for note in report["notes"]:
        assert f"note: {note}" in printed, "notes are printed, not only written"
    return report


@pytest.mark.parametrize("task", BENCHMARKS)
def test_every_benchmark_writes_its_report(workspace: Path, task: str) -> None:
    from vermo_cli.messages.tasks import get_task

    report = evaluate(workspace, task)
    metrics = list(get_task(task).metrics)
    assert report["task"] == task and report["metrics"] == metrics
    assert {"Real", "model"} <= set(report["rows"])
    protocol = report["protocol"]
    assert protocol["seeds"] == [0, 1] and protocol["clips"] == 4
    assert len(protocol["clip_ids"]) == 4 and protocol["instruction"]
    assert protocol["corpus"]["identity"] and protocol["split"] == "train"
    for row in report["rows"].values():
        assert set(row) == set(metrics)
        for summary in row.values():
            assert len(summary["values"]) == 2
    model = report["rows"]["model"]
    for name in metrics:
        if name != "multimodality" or task in ("t2m", "mt2m"):
            assert model[name]["mean"] is not None and math.isfinite(model[name]["mean"]), name
    real = report["rows"]["Real"]
    if "fid" in metrics:
        assert abs(real["fid"]["mean"]) < 1e-6  # the ground truth against itself
        assert real["diversity"]["mean"] > 0
    if task in ("pred", "btwn"):
        assert real["ade"]["mean"] == 0 and real["fde"]["mean"] == 0
        baseline = "linear interpolation" if task == "btwn" else "zero velocity"
        assert report["rows"][baseline]["ade"]["mean"] > 0
    if task in ("t2m", "mt2m"):
        assert real["multimodality"]["mean"] is None  # defined for generated samples only
        assert protocol["multimodality"] == {"prompts": 2, "samples": 2, "pairs": 10}
    if "r_precision_top1" in metrics:  # 4 clips: each text ranked among 4 motions, not 32
        assert protocol["r_precision_batch"] == 4
        assert any("among 4 motions, not 32" in note for note in report["notes"])
    if "bertscore" in metrics:
        assert "all-MiniLM-L6-v2" in protocol["bertscore_model"]
        assert "most frequent caption" in report["rows"]
        captions = report["captions"]
        assert captions["baseline"]["system"] == "most frequent caption"
        assert captions["baseline"]["caption"]
        assert [clip["id"] for clip in captions["clips"]] == protocol["clip_ids"]
        for clip in captions["clips"]:
            assert clip["captions"] and len(clip["generated"]) == 2  # one per replication
            assert all(isinstance(caption, str) for caption in clip["generated"])
    else:
        assert report["captions"] is None
    if task == "m2d":  # the reference a dance's beat alignment must beat
        assert "beat_align" in report["rows"]["model, half a beat late"]
    if "fgd" in metrics:
        assert "gesture" in protocol["evaluators"]
    elif "fid" in metrics or "mm_dist" in metrics:
        assert next(iter(protocol["evaluators"].values()))["summary"].startswith("evaluator")


def test_same_seed_same_numbers(workspace: Path) -> None:
    first = evaluate(workspace, "pred", "--replications", "1")
    again = evaluate(workspace, "pred", "--replications", "1")
    assert first["rows"] == again["rows"]


def test_candidates_score_the_reply_closest_to_the_given_motion(workspace: Path) -> None:
    once = evaluate(workspace, "btwn", "--replications", "1")
    best = evaluate(workspace, "btwn", "--replications", "1", "--candidates", "3")
    assert best["protocol"]["request"]["candidates"] == 3
    assert once["rows"]["linear interpolation"] == best["rows"]["linear interpolation"]
    assert best["rows"]["model"]["ade"] != once["rows"]["model"]["ade"]


def test_mistakes_are_one_line(workspace: Path, tmp_path: Path) -> None:
    common = ["--checkpoint", workspace / "sft", "--limit", "3", "--replications", "1"]
    missing = cli_error("eval", "t2m", *common, "--evaluator", tmp_path / "none")
    assert "no text-motion evaluator" in missing and "fit-evaluator" in missing
    assert "no clip in split" in cli_error(
        "eval", "pred", *common, "--split", "no-such-split", "--json", tmp_path / "x.json"
    )
    assert "checkpoint not found" in cli_error("eval", "pred", "--checkpoint", tmp_path / "nope")
    assert "applies to tasks given motion to meet (pred, btwn), not m2t" in cli_error(
        "eval", "m2t", *common, "--candidates", "2"
    )
    assert not (tmp_path / "x.json").exists()
    taken = cli_error(
        "eval", "fit-evaluator", "--data", tmp_path, "--kind", "gesture", "-o", workspace / "tm1"
    )
    assert "already exists" in taken


def test_summary_is_mean_and_95_percent_interval() -> None:
    summary = summarize([1.0, 2.0, 3.0, float("nan")])
    assert summary.mean == 2.0
    assert summary.interval == pytest.approx(1.96 * 1.0 / np.sqrt(3))
    assert summarize([5.0]).interval == 0.0
    assert math.isnan(summarize([float("nan")]).mean)


def test_an_intermediate_training_checkpoint_is_evaluated(workspace: Path) -> None:
    """`vermo eval --checkpoint RUN/checkpoints/step<N>` scores that step; the report goes to
    `RUN/eval/TASK-SPLIT-step<N>.json`, outside the checkpoint folder a resumed run may delete."""
    step2 = workspace / "pre" / "checkpoints" / "step2"
    run_cli(
        "eval", "t2m", "--checkpoint", step2, "--split", "train", "--limit", "3",
        "--replications", "1", "--evaluator", workspace / "tm1", "--multimodality-prompts", "0",
    )  # fmt: skip
    report = json.loads((workspace / "pre" / "eval" / "t2m-train-step2.json").read_text())
    assert report["protocol"]["checkpoint"] == str(step2)
    assert report["protocol"]["model_step"] == 2
    assert report["rows"]["model"]["r_precision_top3"]["mean"] is not None
    assert not (step2 / "eval").exists()


def test_fit_evaluator_overrides_need_a_recipe_and_known_keys(tmp_path: Path) -> None:
    fit = ("eval", "fit-evaluator", "--data", tmp_path, "-o", tmp_path / "evaluator")
    assert "give the recipe with --recipe" in cli_error(*fit, "--set", "seed=1")
    recipe = RECIPES / "evaluator-text-motion.yaml"
    assert "--set stepz: no such recipe key" in cli_error(
        *fit, "--recipe", recipe, "--set", "stepz=1"
    )
