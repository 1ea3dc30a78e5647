"""End-to-end: several real sources from ../shared/data and the synthetic corpus into one corpus."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest

from vermo_cli.data.prepare import SourceRequest, prepare_corpus
from vermo_cli.data.sources import SourceOptions
from vermo_cli.data.store import open_corpus
from vermo_cli.motion.canonical import facing_direction
from vermo_cli.motion.skeleton import HUMAN_BONE_RANGES, JOINT_INDEX, LEFT_JOINTS, MIRROR

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def mixed_corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bandai = shared_data / "bandai"
    requests = [
        SourceRequest(
            "bvh",
            (
                shared_data / "lafan1/bvh/walk4_subject1.bvh",
                shared_data / "lafan1/bvh/dance1_subject2.bvh",
                *sorted(bandai.glob("*-1/data/dataset-1_bye_*.bvh"))[:3],
                *sorted(bandai.glob("*-2/data/dataset-2_wave-left-hand_*.bvh"))[:2],
                shared_data / "cmu/bvh11",
                shared_data / "cmu/fairmotion/01_01.bvh",
                shared_data / "xia/angry_13_000.bvh",
                shared_data / "beat2/meeting_1_wayne_0_1_1_30fps_250f.bvh",
            ),
        ),
        SourceRequest("humanml3d", (shared_data / "humanml3d/official/HumanML3D",)),
        SourceRequest("interx", (shared_data / "interx",)),
        SourceRequest("synthetic"),
    ]
    output = tmp_path_factory.mktemp("real") / "corpus"
    prepare_corpus(requests, output, SourceOptions(clips=30, seed=1), workers=2)
    return output


def test_opens_with_datasets_and_has_every_source(mixed_corpus: Path) -> None:
    clips = datasets.load_from_disk(str(mixed_corpus)).with_format("numpy")
    sources = set(clips["source"])
    assert {"lafan1", "bandai", "cmu", "xia", "beat", "humanml3d", "interx", "synthetic"} <= sources
    for row in clips:
        assert row["fps"] == 30.0 and row["motion"].dtype == np.float32
        assert row["motion"].shape == (row["headcount"], row["frames"], 52, 3)
        assert 30 <= row["frames"] <= 360
    by_source = {s: next(r for r in clips if r["source"] == s) for s in sources}
    assert by_source["lafan1"]["joint_mask"].sum() == 22  # no fingers
    assert by_source["beat"]["joint_mask"].sum() == 52  # BEAT has fingers
    assert by_source["interx"]["headcount"] == 2
    bye = next(r for r in clips if "content:bye" in list(r["tags"]))
    assert any("wave" in c["text"] for c in bye["captions"])


def test_every_clip_is_canonical_and_human(mixed_corpus: Path) -> None:
    clips = datasets.load_from_disk(str(mixed_corpus)).with_format("numpy")
    for row in clips:
        motion, mask = row["motion"], row["joint_mask"]
        first = motion[0, 0]
        assert motion[..., 1].min() == pytest.approx(0.0, abs=1e-4), row["id"]
        assert np.allclose(first[JOINT_INDEX["pelvis"], [0, 2]], 0.0, atol=1e-4), row["id"]
        assert facing_direction(first) @ np.array([0.0, 0.0, 1.0]) > 0.999, row["id"]
        for left in LEFT_JOINTS:
            if mask[left] and left in (JOINT_INDEX["left_hip"], JOINT_INDEX["left_shoulder"]):
                assert first[left, 0] > first[MIRROR[left], 0], row["id"]
        for (parent, child), (low, high) in HUMAN_BONE_RANGES.items():
            length = np.linalg.norm(
                motion[:, :, JOINT_INDEX[child]] - motion[:, :, JOINT_INDEX[parent]], axis=-1
            )
            assert low <= np.median(length) <= high, (row["id"], parent, child)


def test_cmu_120_fps_keeps_its_duration(mixed_corpus: Path, shared_data: Path) -> None:
    text = (shared_data / "cmu/bvh11/131_01.bvh").read_text().replace("\r", "")
    frames = int(text.split("Frames:")[1].split()[0])
    frame_time = float(text.split("Frame Time:")[1].split()[0])
    clips = datasets.load_from_disk(str(mixed_corpus))
    kept = sum(r["frames"] for r in clips if r["take_id"].endswith("131_01"))
    assert kept / 30.0 == pytest.approx((frames - 1) * frame_time, abs=1 / 30)


def test_sidecar_has_stats_splits_and_provenance(mixed_corpus: Path) -> None:
    corpus = open_corpus(mixed_corpus)
    stats = corpus.stats()
    assert np.asarray(stats["mean"]).shape == (52, 3)
    assert 0.05 < stats["std_body"] < 2.0 and stats["std_hand"] is not None
    assert sum(corpus.info["splits"]["counts"].values()) == len(corpus.clips)
    assert [s["name"] for s in corpus.info["provenance"]["sources"]] == [
        "bvh",
        "humanml3d",
        "interx",
        "synthetic",
    ]
