"""`fit_inbetween`: train the in-betweening specialist on BVH takes (`vermo specialize btwn`
with a recipe of `kind: inbetween`).

The last `validation_fraction` of every take is held out; every `validate_every` steps (and at
the last) the network's L2P on those windows, averaged over n = 5, 15, 30, 45, is measured next
to the interpolation baseline's, and the best step's weights become the run's model. Every
random draw is a function of (seed, step), so a seed gives the same weights.
"""

from __future__ import annotations

import csv
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vermo_cli import __version__
from vermo_cli.evaluate.lafan1_windows import (
    CONTEXT_FRAMES,
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
from vermo_cli.evaluator_models.store import save_weights
from vermo_cli.files import (
    check_output_directory,
    check_replaceable,
    path_for_record,
    publish_directory,
    staging_directory,
    write_json_atomically,
)
from vermo_cli.inbetween.network import InbetweenTransformer
from vermo_cli.inbetween.recipe import InbetweenRecipe, InbetweenTraining, load_inbetween_recipe
from vermo_cli.inbetween.run import InbetweenRunError, corrected
from vermo_cli.inbetween.samples import (
    Sample,
    make_sample,
    mirror_joints,
    mirrored,
    normalised,
    split_takes,
    window_frames,
)
from vermo_cli.schedule import warmup_cosine_factor
from vermo_cli.train.run_layout import (
    INBETWEEN_FORMAT,
    INBETWEEN_INFO,
    INBETWEEN_LOG,
    INBETWEEN_VERSION,
    INBETWEEN_WEIGHTS,
)

VALIDATION_EVERY_FRAMES = 20
"""Frames between the starts of consecutive validation windows."""

FitProgress = Callable[[int, int, float, float | None], None]
"""Called after each step with (step, steps, loss, validation L2P when this step validated)."""


@dataclass(frozen=True)
class InbetweenRequest:
    """What `vermo specialize btwn --recipe <inbetween recipe>` asks for: the BVH takes (a
    folder, a file or a pattern), the recipe, the run directory."""

    data: Path
    recipe: Path
    output: Path
    overwrite: bool = False


@dataclass
class _Validation:
    """The held-out windows, their `Sample` per transition length scored (made once), the
    statistics L2P divides by, and the interpolation baseline's L2P."""

    windows: Windows
    samples: dict[int, Sample]
    statistics: PositionStatistics
    interpolation: dict[int, float] = field(default_factory=dict)


def check_command_options(task: str, previous: Path | None, resume: bool, launched: bool) -> None:
    """Refuse `vermo specialize` options that have no meaning for an `inbetween` recipe."""
    if task != "btwn":
        raise InbetweenRunError(
            f"an inbetween recipe trains the btwn specialist: run `vermo specialize btwn`, "
            f"not {task}"
        )
    if previous is not None:
        raise InbetweenRunError(
            "an inbetween recipe trains from BVH takes alone (--data): drop --from"
        )
    if resume:
        raise InbetweenRunError(
            "an in-betweening run trains in one go and keeps no resumable checkpoints: "
            "retrain with --overwrite"
        )
    if launched:
        raise InbetweenRunError(
            "an in-betweening run trains in this one process: drop --gpus, --nodes, --hostfile"
        )


def check_inbetween_request(request: InbetweenRequest) -> InbetweenRecipe:
    """The recipe, after refusing an output that may not be written (nothing is touched)."""
    recipe = load_inbetween_recipe(request.recipe)
    check_output_directory(request.output)
    if Path(request.output).exists():
        if not request.overwrite:
            raise InbetweenRunError(
                f"{request.output}: already exists (pass --overwrite to replace it)"
            )
        check_replaceable(request.output, (INBETWEEN_INFO,), "an in-betweening run")
    return recipe


def fit_inbetween(request: InbetweenRequest, progress: FitProgress | None = None) -> dict[str, Any]:
    """Train the specialist of `request` and publish its run directory; returns the run's
    record (`inbetween.json`)."""
    recipe = check_inbetween_request(request)
    settings = recipe.training
    takes = read_takes(request.data, "--data")
    partners = mirror_joints(takes[0].joint_names) if settings.mirror else None
    training_takes, held_out = split_takes(takes, settings.validation_fraction)
    windows = cut_windows(
        training_takes, window_frames(settings.max_transition), settings.window_every
    )
    scale = PositionStatistics.of(cut_windows(training_takes, TRAIN_WINDOW, TRAIN_OFFSET)).std
    scale = np.maximum(scale, 1e-6)
    validation = _validation(held_out, settings, scale)
    torch.manual_seed(settings.seed)
    network = InbetweenTransformer(
        len(takes[0].joint_names), recipe.network, window_frames(settings.max_transition)
    )
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    staging = staging_directory(request.output)
    started = time.monotonic()
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"step": 0, "l2p": math.inf}
    try:
        with open(staging / INBETWEEN_LOG, "w", newline="") as handle:
            log = csv.writer(handle)
            log.writerow(["step", "loss", "learning_rate", "validation_l2p"])
            for step in range(1, settings.steps + 1):
                rate = settings.learning_rate * warmup_cosine_factor(
                    step - 1, settings.warmup_steps, settings.steps, settings.final_lr_fraction
                )
                for group in optimizer.param_groups:
                    group["lr"] = rate
                loss = _train_step(network, optimizer, windows, scale, partners, settings, step)
                measured = None
                if step % settings.validate_every == 0 or step == settings.steps:
                    scores = validation_l2p(network, scale, validation)
                    measured = float(np.mean(list(scores.values())))
                    history.append({"step": step, "l2p": measured, "per_transition": scores})
                    if measured < best["l2p"]:
                        best = {"step": step, "l2p": measured, "per_transition": scores}
                        save_weights(network, staging / INBETWEEN_WEIGHTS)
                log.writerow(
                    [
                        step,
                        f"{loss:.6f}",
                        f"{rate:.3e}",
                        "" if measured is None else f"{measured:.6f}",
                    ]
                )
                if progress:
                    progress(step, settings.steps, loss, measured)
        info = {
            "format": INBETWEEN_FORMAT,
            "version": INBETWEEN_VERSION,
            "vermo_version": __version__,
            "recipe": recipe.model_dump(mode="json"),
            "data": path_for_record(request.data, Path(request.output) / INBETWEEN_INFO),
            "takes": [take.name for take in takes],
            "joint_names": takes[0].joint_names,
            "parents": takes[0].parents,
            "max_frames": window_frames(settings.max_transition),
            "scale": scale.tolist(),
            "training_windows": len(windows.takes),
            "validation_windows": len(validation.windows.takes),
            "step": best["step"],
            "validation": {
                "l2p": best["l2p"],
                "per_transition": best["per_transition"],
                "interpolation": validation.interpolation,
            },
            "history": history,
            "seconds": time.monotonic() - started,
        }
        write_json_atomically(staging / INBETWEEN_INFO, info)
        publish_directory(staging, request.output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


def _train_step(
    network: InbetweenTransformer,
    optimizer: torch.optim.Optimizer,
    windows: Windows,
    scale: np.ndarray,
    partners: np.ndarray | None,
    settings: InbetweenTraining,
    step: int,
) -> float:
    """One optimizer step on a batch of one random transition length; returns the batch's
    L2P (the loss)."""
    draw = np.random.default_rng([settings.seed, step])
    transition = int(draw.integers(settings.min_transition, settings.max_transition + 1))
    chosen = draw.integers(0, len(windows.takes), settings.batch_size)
    sample = make_sample(windows.subset(chosen, window_frames(transition)), transition)
    if partners is not None:
        sample = mirrored(sample, draw.random(settings.batch_size) < 0.5, partners)
    assert sample.truth is not None
    network.train()
    poses = normalised(sample.known, scale)
    truth = normalised(sample.truth, scale)
    made = slice(CONTEXT_FRAMES, CONTEXT_FRAMES + transition)
    predicted = poses[:, made] + network(poses, transition)[:, made]
    loss = torch.linalg.vector_norm(predicted - truth, dim=-1).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(network.parameters(), settings.grad_clip)
    optimizer.step()
    return float(loss.detach())


def _validation(held_out: list, settings: InbetweenTraining, scale: np.ndarray) -> _Validation:
    """The held-out windows, the transition lengths scored on them and the interpolation
    baseline's L2P there."""
    transitions = [
        n for n in TRANSITIONS if settings.min_transition <= n <= settings.max_transition
    ] or [settings.max_transition]
    try:
        windows = cut_windows(held_out, window_frames(max(transitions)), VALIDATION_EVERY_FRAMES)
    except ProtocolError as error:
        raise ProtocolError(
            f"the held-out last {settings.validation_fraction:.0%} of the takes is too short to "
            f"validate ({error}); raise training.validation_fraction"
        ) from None
    statistics = PositionStatistics(mean=np.zeros_like(scale), std=scale)
    samples = {transition: make_sample(windows, transition) for transition in transitions}
    validation = _Validation(windows, samples, statistics)
    for transition, sample in samples.items():
        made = slice(CONTEXT_FRAMES, CONTEXT_FRAMES + transition)
        validation.interpolation[transition] = l2p(sample.known[:, made], sample.truth, statistics)
    return validation


def validation_l2p(
    network: InbetweenTransformer, scale: np.ndarray, validation: _Validation
) -> dict[int, float]:
    """The network's L2P on the held-out windows per transition length."""
    scores = {}
    for transition, sample in validation.samples.items():
        made = slice(CONTEXT_FRAMES, CONTEXT_FRAMES + transition)
        predicted = corrected(network, scale, sample.known, transition)[:, made]
        scores[transition] = l2p(predicted, sample.truth, validation.statistics)
    return scores
