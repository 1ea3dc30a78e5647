"""`vermo eval btwn --protocol lafan1`: the published LAFAN1 in-betweening benchmark.

L2P at n = 5, 15, 30, 45 of the zero-velocity and interpolation baselines and of a vermo model
on the test takes' windows, normalised by the training takes' windows (`lafan1_windows`), and
the model's frames exported for anyone to score with their own implementation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vermo_cli import __version__
from vermo_cli.evaluate.lafan1_baselines import interpolation, zero_velocity
from vermo_cli.evaluate.lafan1_systems import ModelSystem, ProgressCallback
from vermo_cli.evaluate.lafan1_windows import (
    CONTEXT_FRAMES,
    TEST_OFFSET,
    TEST_WINDOW,
    TRAIN_OFFSET,
    TRAIN_WINDOW,
    TRANSITIONS,
    PositionStatistics,
    ProtocolError,
    Windows,
    cut_windows,
    l2p,
    read_takes,
)
from vermo_cli.files import write_atomically
from vermo_cli.generate.session import GenerationModel, SamplingOptions
from vermo_cli.inbetween.run import InbetweenRun, is_inbetween_run
from vermo_cli.motion.bvh_skeletons import identify_skeleton

ZERO_VELOCITY = "zero velocity"
INTERPOLATION = "interpolation"
MODEL = "model"
PUBLISHED_L2P = {
    ZERO_VELOCITY: (1.52, 3.69, 6.60, 9.33),
    INTERPOLATION: (0.37, 1.25, 2.32, 3.45),
    "Robust Motion In-betweening": (0.23, 0.65, 1.28, 2.24),
}
"""L2P at n = 5 / 15 / 30 / 45 on the full subject-5 test set (Harvey et al. 2020)."""


@dataclass(frozen=True)
class Lafan1Request:
    """What `vermo eval btwn --protocol lafan1` was asked: training and test BVH (a folder or a
    file pattern), the model (None: baselines only), how to sample it, and the first `limit`
    test windows only when set."""

    train_bvh: Path
    test_bvh: Path
    checkpoint: Path | None = None
    options: SamplingOptions = field(default_factory=SamplingOptions)
    limit: int | None = None


@dataclass
class Lafan1Report:
    """L2P per system and transition length, the protocol that produced it, and the model's
    frames (`exports`: key `TAKE_fSTART_nN` -> `[n, J, 3]` file units in the file's world frame)."""

    rows: dict[str, dict[int, float]]
    protocol: dict[str, Any]
    seconds: float
    exports: dict[str, np.ndarray] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the exports stay out: they go to `--export FILE.npz`)."""
        return {
            "task": "btwn",
            "protocol_name": "lafan1",
            "vermo_version": __version__,
            "metric": "l2p",
            "rows": {
                system: {f"l2p@{n}": value for n, value in row.items()}
                for system, row in self.rows.items()
            },
            "published": {
                system: dict(zip((f"l2p@{n}" for n in TRANSITIONS), values, strict=True))
                for system, values in PUBLISHED_L2P.items()
            },
            "protocol": self.protocol,
            "seconds": self.seconds,
        }


def load_windows(request: Lafan1Request) -> tuple[Windows, Windows]:
    """The training and test windows of `request` (test windows on the first training take's
    bone offsets); `ProtocolError` on unusable folders."""
    train_takes = read_takes(request.train_bvh, "--train-bvh")
    test_takes = read_takes(request.test_bvh, "--test-bvh")
    if test_takes[0].joint_names != train_takes[0].joint_names:
        raise ProtocolError("--train-bvh and --test-bvh hold different skeletons")
    train = cut_windows(train_takes, TRAIN_WINDOW, TRAIN_OFFSET)
    test = cut_windows(test_takes, TEST_WINDOW, TEST_OFFSET, offsets=train_takes[0].offsets)
    if request.limit is not None:
        test = test.subset(slice(0, request.limit))
    return train, test


def run_lafan1(
    request: Lafan1Request,
    progress: ProgressCallback | None = None,
    windows: tuple[Windows, Windows] | None = None,
    model: Lafan1System | None = None,
) -> Lafan1Report:
    """Score the baselines (and the model, when `request.checkpoint` is set) by L2P; the
    training and test `windows` of `load_windows(request)` and the `model_system` when they
    are already loaded."""
    began = time.perf_counter()
    train, test = windows or load_windows(request)
    statistics = PositionStatistics.of(train)
    if model is None and request.checkpoint is not None:
        model = model_system(request, test)
    rows: dict[str, dict[int, float]] = {ZERO_VELOCITY: {}, INTERPOLATION: {}}
    exports: dict[str, np.ndarray] = {}
    total = len(test.takes) * len(TRANSITIONS)
    for index, frames in enumerate(TRANSITIONS):
        target = test.positions[:, CONTEXT_FRAMES : CONTEXT_FRAMES + frames]
        rows[ZERO_VELOCITY][frames] = l2p(zero_velocity(test, frames), target, statistics)
        rows[INTERPOLATION][frames] = l2p(interpolation(test, frames), target, statistics)
        if model is None:
            continue
        done = index * len(test.takes)

        def advance(count: int, _: int, done: int = done) -> None:
            if progress:
                progress(done + count, total)

        made = model.transitions(test, frames, advance)
        rows.setdefault(MODEL, {})[frames] = l2p(made, target, statistics)
        in_files = test.to_file_frame(made)
        for window, (take, start) in enumerate(zip(test.takes, test.starts, strict=True)):
            exports[f"{take}_f{int(start)}_n{frames}"] = in_files[window].astype(np.float32)
    return Lafan1Report(
        rows=rows,
        protocol=_protocol(request, train, test, model),
        seconds=time.perf_counter() - began,
        exports=exports,
    )


def write_exports(path: Path, exports: dict[str, np.ndarray]) -> None:
    """The model's frames as one `.npz` (written atomically)."""

    def write(staging: Path) -> None:
        with open(staging, "wb") as handle:
            np.savez(handle, **exports)

    write_atomically(path, write)


Lafan1System = ModelSystem | InbetweenRun
"""A model the protocol scores: the token LM (through SMPL-H) or an in-betweening specialist
trained on the test takes' skeleton."""


def model_system(request: Lafan1Request, test: Windows) -> Lafan1System:
    """The model of `request.checkpoint`: an in-betweening specialist as it is, a language
    model with the joint map that carries the test skeleton onto SMPL-H."""
    assert request.checkpoint is not None
    if is_inbetween_run(request.checkpoint):
        specialist = InbetweenRun.load(request.checkpoint)
        if specialist.max_transition < max(TRANSITIONS):
            raise ProtocolError(
                f"{request.checkpoint}: made for transitions of at most "
                f"{specialist.max_transition} frames; the protocol scores n up to "
                f"{max(TRANSITIONS)} (train with training.max_transition: {max(TRANSITIONS)})"
            )
        return specialist
    skeleton = identify_skeleton(test.joint_names, Path(request.test_bvh))
    model = GenerationModel.load(request.checkpoint)
    return ModelSystem(model, skeleton, test.joint_names, request.options)


def _protocol(
    request: Lafan1Request, train: Windows, test: Windows, model: Lafan1System | None
) -> dict[str, Any]:
    """Everything needed to reproduce the numbers."""
    options = request.options
    return {
        "train_bvh": str(request.train_bvh),
        "test_bvh": str(request.test_bvh),
        "train_takes": sorted(set(train.takes)),
        "test_takes": sorted(set(test.takes)),
        "train_windows": {"count": len(train.takes), "length": TRAIN_WINDOW, "every": TRAIN_OFFSET},
        "test_windows": {"count": len(test.takes), "length": TEST_WINDOW, "every": TEST_OFFSET},
        "limit": request.limit,
        "context_frames": CONTEXT_FRAMES,
        "transitions": list(TRANSITIONS),
        "checkpoint": None if model is None else str(model.directory),
        "model_kind": None
        if model is None
        else ("inbetween" if isinstance(model, InbetweenRun) else "language model"),
        "sampling": None
        if not isinstance(model, ModelSystem)
        else {
            "seed": options.seed,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "decoder": options.decoder,
            "flow_steps": options.flow_steps,
            "candidates": options.candidates,
        },
    }
