"""`vermo tokenize fit`: train FlowVQ stage 1 (autoencoder) and stage 2 (flow decoder).

One loop serves both stages; a stage is data: which module trains, what its loss is, and which
recipe section sets the optimisation. Every random draw is a function of (seed, step), so
resuming from a checkpoint reproduces an uninterrupted run exactly.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from torch.utils.tensorboard import SummaryWriter

from vermo_cli import __version__
from vermo_cli.checkpoints import load_checkpoint
from vermo_cli.data.store import Corpus, motion_arrays, open_corpus
from vermo_cli.errors import CorpusError, VermoError
from vermo_cli.files import (
    check_output_directory,
    check_replaceable,
    path_for_record,
    write_atomically,
    write_json_atomically,
)
from vermo_cli.motion.skeleton import JOINT_NAMES
from vermo_cli.ranks import join_process_group, rank_zero_first
from vermo_cli.recipe_files import recipe_text
from vermo_cli.schedule import warmup_cosine_factor
from vermo_cli.telemetry import ThroughputWindow
from vermo_cli.tokenizers.flowvq.data import (
    MotionBatch,
    SequenceBank,
    training_batch,
    validation_batches,
)
from vermo_cli.tokenizers.flowvq.features import FeatureKind, MotionNormalizer, loss_weights
from vermo_cli.tokenizers.flowvq.flow_decoder import (
    FlowMatchingDecoder,
    flow_matching_targets,
    make_scheduler,
)
from vermo_cli.tokenizers.flowvq.recipe import (
    FlowVQRecipe,
    StageConfig,
    VqVaeConfig,
    load_flowvq_recipe,
)
from vermo_cli.tokenizers.flowvq.tokenizer import (
    FLOW_WEIGHTS,
    INFO_NAME,
    RECIPE_NAME,
    STAGE1_WEIGHTS,
    TOKENIZER_FORMAT,
    TokenizerError,
    save_module,
    tokenizer_identity,
    weights_digest,
)
from vermo_cli.tokenizers.flowvq.vqvae import MotionVqVae
from vermo_cli.weights import read_safetensors

LossFunction = Callable[[MotionBatch, int], torch.Tensor]

RANK_ZERO_WAIT = timedelta(days=7)
"""How long the other ranks of a launched `tokenize fit` wait for rank 0 to finish training."""


class FitProgress(Protocol):
    """Receives training progress (the CLI draws a progress bar from it)."""

    def stage_started(self, stage: int, total_steps: int, first_step: int) -> None:
        """A stage begins (or resumes after `first_step` finished steps)."""

    def step_done(self, stage: int, step: int, loss: float) -> None:
        """Step `step` (1-based) finished with this training loss."""

    def validated(self, stage: int, step: int, loss: float) -> None:
        """Validation loss after `step`."""


@dataclass
class StagePlan:
    """What distinguishes the two stages for the shared loop."""

    number: int
    config: StageConfig
    trainable: nn.Module
    loss: LossFunction


def masked_mean(
    values: torch.Tensor, batch: MotionBatch, channel_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean of `[batch, frames, channels]` values over real frames and valid joints only: invalid
    joints and padding contribute neither loss nor gradient. `channel_weights` `[channels]`
    weighs channels (a weighted mean)."""
    weights = (batch.frame_mask[:, :, None] & batch.channel_mask[:, None, :]).to(values.dtype)
    if channel_weights is not None:
        weights = weights * channel_weights
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


def _channel_weights(config: VqVaeConfig) -> torch.Tensor:
    return torch.from_numpy(loss_weights(config.features, config.root_weight))


def reconstruction_loss(vqvae: MotionVqVae) -> LossFunction:
    """Stage 1: smooth L1 on normalised features (root channels weighted by `root_weight`)
    plus the quantizer's auxiliary loss (commitment for vq/rvq, none for fsq)."""
    weights = _channel_weights(vqvae.config)

    def loss(batch: MotionBatch, step: int) -> torch.Tensor:
        reconstruction, _, auxiliary = vqvae(batch.motion, batch.frame_mask)
        error = functional.smooth_l1_loss(reconstruction, batch.motion, reduction="none")
        return masked_mean(error, batch, weights) + auxiliary

    return loss


def flow_loss(vqvae: MotionVqVae, flow: FlowMatchingDecoder, seed: int) -> LossFunction:
    """Stage 2: mean squared error of the predicted velocity (or of the predicted motion, for
    `prediction: sample`), with the encoder and quantizer frozen; noise and timesteps are drawn
    from a generator seeded by (seed, step)."""
    scheduler = make_scheduler(flow.config)
    weights = _channel_weights(vqvae.config)

    def loss(batch: MotionBatch, step: int) -> torch.Tensor:
        with torch.no_grad():
            latents, _, _ = vqvae.quantize(batch.motion, batch.frame_mask)
            prior = vqvae.decode_latents(latents) if flow.prior_in is not None else None
        generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
        noisy, timesteps, target = flow_matching_targets(batch.motion, scheduler, generator)
        prediction = flow(noisy, timesteps, latents, batch.frame_mask, prior)
        if flow.config.prediction == "sample":
            target = batch.motion
        return masked_mean((prediction - target) ** 2, batch, weights)

    return loss


def learning_rate_factor(config: StageConfig) -> Callable[[int], float]:
    """Linear warm-up over `warmup_steps`, then cosine decay to `final_lr_fraction`."""

    return partial(
        warmup_cosine_factor,
        warmup_steps=config.warmup_steps,
        total_steps=config.steps,
        final_fraction=config.final_lr_fraction,
    )


def _checkpoint_dir(output: Path, stage: int) -> Path:
    return output / "checkpoints" / f"stage{stage}"


def latest_checkpoint(output: Path, stage: int) -> Path | None:
    """The newest `step-*.pt` of a stage, or None."""
    checkpoints = sorted(_checkpoint_dir(output, stage).glob("step-*.pt"))
    return checkpoints[-1] if checkpoints else None


def _save_checkpoint(
    output: Path, plan: StagePlan, optimizer: torch.optim.Optimizer, scheduler: Any, step: int
) -> None:
    directory = _checkpoint_dir(output, plan.number)
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "step": step,
        "model": plan.trainable.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
    }
    write_atomically(directory / f"step-{step:07d}.pt", lambda path: torch.save(state, path))
    for old in sorted(directory.glob("step-*.pt"))[: -plan.config.keep_checkpoints]:
        old.unlink()


CSV_COLUMNS = (
    "step",
    "loss",
    "learning_rate",
    "validation_loss",
    "frames_per_second",
    "step_seconds",
)
"""`logs/stageN/train.csv`, one row per step: `frames_per_second` (real frames of the batches,
padding left out) and `step_seconds` (drawing the batch and the optimizer step; validation and
checkpoints excluded) average over the last `THROUGHPUT_WINDOW` steps."""
THROUGHPUT_WINDOW = 20


def _log_rows(path: Path, keep_until: int) -> None:
    """Drop logged steps after `keep_until` (they are recomputed after a resume)."""
    if not path.is_file():
        return
    with path.open() as handle:
        rows = [row for row in csv.reader(handle)]
    kept = [rows[0]] + [row for row in rows[1:] if int(row[0]) <= keep_until]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(kept)


def run_stage(
    plan: StagePlan,
    bank: SequenceBank,
    validation: list[MotionBatch],
    output: Path,
    seed: int,
    compression: int,
    resume: bool,
    progress: FitProgress | None,
) -> float:
    """Train one stage to `config.steps`, checkpointing and validating on the way; returns the
    final validation loss. Logs go to TensorBoard (`logs/stageN`) and `logs/stageN/train.csv`."""
    config = plan.config
    parameters = [p for p in plan.trainable.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        parameters, lr=config.learning_rate, betas=config.betas, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor(config))
    first_step = 0
    checkpoint = latest_checkpoint(output, plan.number) if resume else None
    if checkpoint is not None:
        state = load_checkpoint(checkpoint)
        plan.trainable.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        first_step = int(state["step"])
    log_dir = output / "logs" / f"stage{plan.number}"
    log_dir.mkdir(parents=True, exist_ok=True)
    csv_path = log_dir / "train.csv"
    _log_rows(csv_path, first_step)
    writer = SummaryWriter(str(log_dir), purge_step=first_step + 1 if first_step else None)
    if progress:
        progress.stage_started(plan.number, config.steps, first_step)
    validation_loss = float("nan")
    new_log = not csv_path.is_file()
    with csv_path.open("a", newline="") as handle:
        log = csv.writer(handle)
        if new_log:
            log.writerow(CSV_COLUMNS)
        window = ThroughputWindow(THROUGHPUT_WINDOW)
        for step in range(first_step + 1, config.steps + 1):
            begin = time.perf_counter()
            plan.trainable.train()
            batch = training_batch(
                bank,
                seed + 7919 * plan.number,
                step,
                config.batch_size,
                config.crop_frames,
                compression,
            )
            loss = plan.loss(batch, step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, config.grad_clip)
            optimizer.step()
            scheduler.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise VermoError(
                    f"stage {plan.number}: loss became {value} at step {step}; "
                    "lower the learning rate in the recipe"
                )
            window.add(float(batch.frame_mask.sum()), time.perf_counter() - begin)
            frames_per_second = window.items_per_second()
            row: list[Any] = [step, f"{value:.6f}", f"{scheduler.get_last_lr()[0]:.3e}", ""]
            row += [f"{frames_per_second:.1f}", f"{window.step_seconds():.4f}"]
            if step % config.log_every == 0 or step == config.steps:
                writer.add_scalar("loss/train", value, step)
                writer.add_scalar("learning_rate", scheduler.get_last_lr()[0], step)
                writer.add_scalar("throughput/frames_per_second", frames_per_second, step)
                writer.add_scalar("throughput/step_seconds", window.step_seconds(), step)
            if step % config.validate_every == 0 or step == config.steps:
                validation_loss = evaluate_loss(plan, validation)
                writer.add_scalar("loss/validation", validation_loss, step)
                row[3] = f"{validation_loss:.6f}"
                if progress:
                    progress.validated(plan.number, step, validation_loss)
            log.writerow(row)
            handle.flush()
            if step % config.checkpoint_every == 0 or step == config.steps:
                _save_checkpoint(output, plan, optimizer, scheduler, step)
            if progress:
                progress.step_done(plan.number, step, value)
    writer.close()
    return validation_loss


@torch.no_grad()
def evaluate_loss(plan: StagePlan, batches: list[MotionBatch]) -> float:
    """Frame-weighted mean loss over fixed validation batches (stage 2 with fixed noise)."""
    plan.trainable.eval()
    total = weight = 0.0
    for index, batch in enumerate(batches):
        frames = float(batch.frame_mask.sum())
        total += float(plan.loss(batch, -1 - index)) * frames
        weight += frames
    return total / max(weight, 1.0)


def _read_recipe(
    output: Path, recipe_path: Path | None, resume: bool, overwrite: bool, flow_only: bool
) -> FlowVQRecipe:
    """The run's recipe: the copy in `output` when resuming (a `--recipe` given too must equal
    it), else `recipe_path`'s. Refuses, before anything is written or deleted, an `output` that
    holds files without `--overwrite`, or that `--overwrite` would delete but is no FlowVQ run.
    With `flow_only` (stage 2 alone, not resumed) `output` must hold a finished stage 1 of the
    same `vqvae` section; only an existing stage 2 needs `--overwrite`."""
    recipe_copy = output / RECIPE_NAME
    if resume:
        if not recipe_copy.is_file():
            raise TokenizerError(f"{output}: nothing to resume (no {RECIPE_NAME})")
        recipe = load_flowvq_recipe(recipe_copy)
        if recipe_path is not None and load_flowvq_recipe(recipe_path) != recipe:
            raise TokenizerError(
                f"{recipe_path}: differs from the recipe of the run in {output}; resume without "
                "--recipe or start a new output directory"
            )
        return recipe
    if recipe_path is None:
        raise TokenizerError("--recipe is required (e.g. recipes/flowvq-tiny.yaml)")
    recipe = load_flowvq_recipe(recipe_path)
    if flow_only:
        _check_flow_retrain(output, recipe, overwrite)
        return recipe
    if output.exists() and any(output.iterdir()):
        if not overwrite:
            raise TokenizerError(
                f"{output}: already exists (pass --resume to continue it, --overwrite to replace)"
            )
        check_replaceable(output, (RECIPE_NAME, INFO_NAME, "checkpoints"), "a FlowVQ tokenizer run")
    return recipe


def _check_flow_retrain(output: Path, recipe: FlowVQRecipe, overwrite: bool) -> None:
    """`TokenizerError` unless `output` holds a finished stage 1 that `recipe`'s `vqvae` section
    describes, and, where it holds a stage 2 already, `overwrite` allows replacing it."""
    if not all((output / name).is_file() for name in (STAGE1_WEIGHTS, INFO_NAME, RECIPE_NAME)):
        raise TokenizerError(f"{output}: stage 2 needs stage 1 first (run with --stage 1)")
    if load_flowvq_recipe(output / RECIPE_NAME).vqvae != recipe.vqvae:
        raise TokenizerError(
            f"{output}: the recipe's vqvae section differs from the one stage 1 was trained with"
        )
    has_flow = (output / FLOW_WEIGHTS).exists() or _checkpoint_dir(output, 2).exists()
    if has_flow and not overwrite:
        raise TokenizerError(
            f"{output}: already has a stage 2 (pass --overwrite to retrain it, --resume to "
            "continue it)"
        )


def _start_output(output: Path, recipe_path: Path, info: dict[str, Any] | None) -> None:
    """Make `output` ready for a fresh run, once the corpus has been read (so bad data never
    costs the old run): emptied of an old run that `_read_recipe` allowed to replace, or, given
    the kept stage 1's `info` (stage 2 alone), emptied of stage 2 only; the recipe copied in."""
    if info is None:
        if output.exists():
            shutil.rmtree(output)
        output.mkdir(parents=True)
    else:
        (output / FLOW_WEIGHTS).unlink(missing_ok=True)
        shutil.rmtree(_checkpoint_dir(output, 2), ignore_errors=True)
        info["stages"].pop("2", None)
        _write_info(output / INFO_NAME, info)
    (output / RECIPE_NAME).write_text(recipe_text(recipe_path))


def _check_joint_set(corpus: Corpus) -> None:
    skeleton = corpus.info.get("skeleton", {})
    if skeleton.get("joint_names") != list(JOINT_NAMES):
        raise TokenizerError(f"{corpus.path}: corpus joint set differs from vermo's SMPL-H set")


def _corpus_normalizer(corpus: Corpus, kind: FeatureKind) -> MotionNormalizer:
    """`positions`: the corpus's own statistics; `trajectory`: fitted on the training split."""
    if kind == "positions":
        return MotionNormalizer.from_stats(corpus.info.get("stats"), str(corpus.path))
    rows = corpus.clips.filter(
        lambda split: split == "train", input_columns="split", keep_in_memory=True
    )
    if len(rows) == 0:
        raise CorpusError(f"{corpus.path}: no clips in split train")
    masks = [np.asarray(mask, dtype=bool) for mask in rows["joint_mask"]]
    return MotionNormalizer.fit(zip(motion_arrays(rows), masks, strict=True), kind)


def _banks(corpus: Corpus, normalizer: MotionNormalizer) -> tuple[SequenceBank, SequenceBank]:
    train = SequenceBank(corpus, ("train",), normalizer)
    has_val = "val" in set(corpus.clips["split"])
    validation = SequenceBank(corpus, ("val",) if has_val else ("train",), normalizer)
    return train, validation


def fit_flowvq(
    corpus_path: Path,
    output: Path,
    recipe_path: Path | None = None,
    stages: tuple[int, ...] = (1, 2),
    resume: bool = False,
    overwrite: bool = False,
    progress: FitProgress | None = None,
) -> dict[str, Any]:
    """Train the requested stages of a FlowVQ tokenizer on a corpus's training split and write
    it to `output`; returns `tokenizer.json`'s content. Stage 2 needs stage 1's weights."""
    output = Path(output)
    check_output_directory(output, beside=False)
    corpus = open_corpus(corpus_path)
    _check_joint_set(corpus)
    flow_only = tuple(stages) == (2,) and not resume
    recipe = _read_recipe(output, recipe_path, resume, overwrite, flow_only)
    torch.manual_seed(recipe.seed)
    info_path = output / INFO_NAME
    keeps_stage1 = resume or flow_only
    existing = json.loads(info_path.read_text()) if keeps_stage1 and info_path.is_file() else None
    normalizer = (
        MotionNormalizer.from_json(existing["normalizer"])
        if existing
        else _corpus_normalizer(corpus, recipe.vqvae.features)
    )
    train, validation_bank = _banks(corpus, normalizer)
    if not resume:
        assert recipe_path is not None  # `_read_recipe` requires it
        _start_output(output, recipe_path, existing if flow_only else None)
    compression = recipe.vqvae.compression
    info: dict[str, Any] = existing or {
        "format": TOKENIZER_FORMAT,
        "vermo_version": __version__,
        "recipe": recipe.name,
        "joint_names": list(JOINT_NAMES),
        "fps": 30.0,
        "compression": compression,
        "codebook_size": recipe.vqvae.quantizer.size,
        "normalizer": normalizer.to_json(),
        "trained_joint_mask": np.any(train.joint_masks, axis=0).tolist(),
        "corpus": {"path": path_for_record(corpus_path, info_path), "identity": corpus.identity},
        "stages": {},
    }
    validation = validation_batches(
        validation_bank, recipe.stage1.batch_size, recipe.stage1.crop_frames, compression
    )
    vqvae = MotionVqVae(recipe.vqvae)
    if 1 in stages:
        plan = StagePlan(1, recipe.stage1, vqvae, reconstruction_loss(vqvae))
        loss = run_stage(
            plan, train, validation, output, recipe.seed, compression, resume, progress
        )
        save_module(vqvae, output / STAGE1_WEIGHTS)
        info["identity"] = tokenizer_identity(output / STAGE1_WEIGHTS, normalizer, recipe)
        info["stages"]["1"] = {"steps": recipe.stage1.steps, "validation_loss": loss}
        info["stages"].pop("2", None)
        (output / FLOW_WEIGHTS).unlink(missing_ok=True)
        _write_info(info_path, info)
    if 2 in stages:
        if not (output / STAGE1_WEIGHTS).is_file():
            raise TokenizerError(f"{output}: stage 2 needs stage 1 first (run with --stage 1)")
        vqvae.load_state_dict(read_safetensors(output / STAGE1_WEIGHTS))
        vqvae.eval().requires_grad_(False)
        flow = FlowMatchingDecoder(
            recipe.flow, recipe.vqvae.width, compression, recipe.vqvae.channels
        )
        plan = StagePlan(2, recipe.stage2, flow, flow_loss(vqvae, flow, recipe.seed))
        loss = run_stage(
            plan, train, validation, output, recipe.seed, compression, resume, progress
        )
        save_module(flow, output / FLOW_WEIGHTS)
        info["stages"]["2"] = {
            "steps": recipe.stage2.steps,
            "validation_loss": loss,
            "weights_sha256": weights_digest(output / FLOW_WEIGHTS),
        }
        _write_info(info_path, info)
    return info


def fit_on_rank_zero(fit: Callable[[], dict[str, Any]], output: Path) -> dict[str, Any]:
    """`fit()` (a `fit_flowvq` call writing `output`), safe under a launcher: FlowVQ does not
    train data-parallel, so rank 0 alone checks, replaces and trains `output` while the other
    ranks wait (up to `RANK_ZERO_WAIT`) and then read its `tokenizer.json`. One process just
    fits."""
    join_process_group(RANK_ZERO_WAIT)
    return rank_zero_first(fit, lambda: json.loads((Path(output) / INFO_NAME).read_text()))


def _write_info(path: Path, info: dict[str, Any]) -> None:
    write_json_atomically(path, info)
