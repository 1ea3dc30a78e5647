"""`fit_evaluator`: train a text-motion or gesture evaluator on a corpus's training split.

Training reads the `train` split and reports on the `val` split (in `evaluator.json`):
text->motion retrieval accuracy for the text-motion evaluator, reconstruction error for the
gesture one. Every random draw is a function of (seed, step), so a seed gives the same weights.
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
from pydantic import ValidationError
from torch import nn
from torch.nn import functional

from vermo_cli import __version__
from vermo_cli.data.store import Corpus, motion_arrays, open_corpus
from vermo_cli.evaluator_models.evaluator import (
    GestureEvaluator,
    TextMotionEvaluator,
    collate_features,
    load_evaluator,
    text_motion_variant,
)
from vermo_cli.evaluator_models.features import (
    GESTURE_CHANNELS,
    UPPER_BODY_JOINTS,
    feature_statistics,
    gesture_features,
    text_motion_channels,
    text_motion_features,
)
from vermo_cli.evaluator_models.networks import (
    GestureAutoencoder,
    TextMotionModel,
    contrastive_loss,
)
from vermo_cli.evaluator_models.recipe import (
    RECIPE_TYPES,
    EvaluatorKind,
    EvaluatorRecipe,
    EvaluatorTraining,
    GestureEvaluatorRecipe,
    TextMotionEvaluatorRecipe,
    load_evaluator_recipe,
)
from vermo_cli.evaluator_models.store import (
    EVALUATOR_FORMAT,
    EVALUATOR_VERSION,
    INFO_NAME,
    LOG_NAME,
    WEIGHTS_NAME,
    EvaluatorError,
    clip_ids_identity,
    evaluator_identity,
    save_weights,
    summary_line,
)
from vermo_cli.evaluator_models.text_encoder import sentence_encoder
from vermo_cli.files import (
    check_output_directory,
    json_text,
    path_for_record,
    publish_directory,
    staging_directory,
)
from vermo_cli.metrics.retrieval import R_PRECISION_BATCH_SIZE, r_precision
from vermo_cli.schedule import warmup_cosine_factor

ProgressCallback = Callable[[int, int, dict[str, float]], None]
"""Called after every step with (step, total steps, {"loss": ...})."""

RETRIEVAL_TOP = (1, 2, 3, 5)
RETRIEVAL_ROUNDS = 20
GRANULARITY_DETAIL = {"macro": 0, "meso": 1, "micro": 2}


@dataclass
class EvaluatorClips:
    """The clips of one split an evaluator reads: ids, pose features `[frames, channels]` and,
    for text-motion, every caption of each clip."""

    ids: list[str] = field(default_factory=list)
    features: list[np.ndarray] = field(default_factory=list)
    captions: list[list[str]] = field(default_factory=list)
    detailed_captions: list[str] = field(default_factory=list)
    """Per clip its first caption of the finest granularity (micro, else meso, else macro; empty
    without captions): the one validation retrieval uses."""


@dataclass
class TrainedEvaluator:
    """A freshly trained model, what it adds to `evaluator.json`, the ids of its training clips
    and the held-out clips to validate it on."""

    model: nn.Module
    info: dict[str, Any]
    train_ids: list[str]
    validation: EvaluatorClips


def _has_speech(audio: dict[str, Any] | None) -> bool:
    return bool(audio) and audio.get("kind") == "speech"


def _clip_captions(captions: list[dict[str, str]] | None) -> list[dict[str, str]]:
    return [caption for caption in captions or [] if caption["text"].strip()]


def select_clips(
    corpus: Corpus, split: str, headcount: int, captioned: bool, speech_only: bool
) -> list[int]:
    """Row indices of the clips of `split` with `headcount` people (and captions, and speech
    audio, where asked)."""
    table = corpus.clips.select_columns(["split", "headcount", "captions", "audio"])
    return [
        index
        for index, row in enumerate(table)
        if row["split"] == split
        and row["headcount"] == headcount
        and (not captioned or _clip_captions(row["captions"]))
        and (not speech_only or _has_speech(row["audio"]))
    ]


def load_clips(
    corpus: Corpus, indices: list[int], features_of: Callable[[np.ndarray], np.ndarray]
) -> EvaluatorClips:
    """Read the clips at `indices` and compute their features."""
    clips = EvaluatorClips()
    if not indices:
        return clips
    rows = corpus.clips.select(indices)
    motions = motion_arrays(rows)
    for clip_id, motion, row_captions in zip(rows["id"], motions, rows["captions"], strict=True):
        clips.ids.append(str(clip_id))
        clips.features.append(features_of(motion))
        captions = _clip_captions(row_captions)
        clips.captions.append([caption["text"] for caption in captions])
        finest = max(
            captions,
            key=lambda caption: GRANULARITY_DETAIL.get(caption["granularity"], 0),
            default={"text": ""},
        )
        clips.detailed_captions.append(finest["text"])
    return clips


def learning_rate_factor(recipe: EvaluatorTraining, step: int) -> float:
    """Share of the peak learning rate at a 0-based step: linear warm-up, then cosine decay."""
    return warmup_cosine_factor(step, recipe.warmup_steps, recipe.steps, recipe.final_lr_fraction)


def random_crop(
    features: np.ndarray, rng: np.random.Generator, shortest: int, longest: int
) -> np.ndarray:
    """A random window of `[frames, channels]` between `shortest` and `longest` frames (the whole
    clip when it is shorter)."""
    frames = len(features)
    length = int(rng.integers(min(shortest, frames), min(longest, frames) + 1))
    start = int(rng.integers(0, frames - length + 1))
    return features[start : start + length]


def train_steps(
    model: nn.Module,
    recipe: EvaluatorTraining,
    batch_loss: Callable[[int], torch.Tensor],
    log_path: Path,
    progress: ProgressCallback | None,
) -> float:
    """Run `recipe.steps` AdamW updates of `model` on `batch_loss(step)` (1-based steps), log
    each to a CSV; returns the last loss."""
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(
        parameters, lr=recipe.learning_rate, weight_decay=recipe.weight_decay
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(recipe, step)
    )
    value = float("nan")
    with log_path.open("w", newline="") as handle:
        log = csv.writer(handle)
        log.writerow(["step", "loss", "learning_rate"])
        for step in range(1, recipe.steps + 1):
            model.train()
            loss = batch_loss(step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, recipe.grad_clip)
            learning_rate = schedule.get_last_lr()[0]
            optimizer.step()
            schedule.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise EvaluatorError(
                    f"loss became {value} at step {step}; lower the learning rate in the recipe"
                )
            log.writerow([step, f"{value:.6f}", f"{learning_rate:.3e}"])
            if progress:
                progress(step, recipe.steps, {"loss": value})
    model.eval()
    return value


def retrieval_accuracy(text: np.ndarray, motion: np.ndarray, seed: int) -> dict[str, float]:
    """Text->motion R-precision top-1/2/3/5 of matching `[n, d]` unit vectors (row i describes
    row i): `vermo_cli.metrics.retrieval.r_precision` (Euclidean, which ranks unit vectors as
    cosine does) in batches of 32, or of all pairs when there are fewer, averaged over 20
    seeded shuffles."""
    size = min(R_PRECISION_BATCH_SIZE, len(text))
    deepest = min(max(RETRIEVAL_TOP), size)
    rounds = [
        r_precision(text, motion, size, deepest, seed=seed + round_index)
        for round_index in range(RETRIEVAL_ROUNDS)
    ]
    mean = np.mean(rounds, axis=0)
    return {f"top{k}": float(mean[k - 1]) for k in RETRIEVAL_TOP if k <= deepest}


def _text_motion_training(
    corpus: Corpus,
    recipe: TextMotionEvaluatorRecipe,
    output: Path,
    progress: ProgressCallback | None,
) -> TrainedEvaluator:
    """Train the text-motion evaluator on the training clips of its headcount."""
    headcount = recipe.headcount
    variant = text_motion_variant(headcount)
    indices = select_clips(corpus, "train", headcount, captioned=True, speech_only=False)
    if not indices:
        raise EvaluatorError(
            f"{corpus.path}: no captioned training clips with {headcount} "
            f"{'person' if headcount == 1 else 'people'} (the {variant} text-motion evaluator "
            "needs some)"
        )
    train = load_clips(corpus, indices, text_motion_features)
    validation = load_clips(
        corpus,
        select_clips(corpus, "val", headcount, captioned=True, speech_only=False),
        text_motion_features,
    )
    encoder = sentence_encoder()
    texts = sorted({text for captions in train.captions for text in captions})
    text_index = {text: index for index, text in enumerate(texts)}
    sentences = torch.from_numpy(encoder.encode(texts))
    caption_ids = [[text_index[text] for text in captions] for captions in train.captions]
    mean, std = feature_statistics(train.features)
    torch.manual_seed(recipe.seed)
    model = TextMotionModel(recipe, text_motion_channels(headcount))
    model.motion_encoder.normalizer.set_statistics(torch.from_numpy(mean), torch.from_numpy(std))
    batch_size = min(recipe.batch_size, len(train.ids))
    shortest_share = recipe.min_crop_fraction

    def batch_loss(step: int) -> torch.Tensor:
        rng = np.random.default_rng([recipe.seed, step])
        chosen = rng.choice(len(train.ids), size=batch_size, replace=False)
        pieces = []
        for index in chosen:
            clip = train.features[index]
            shortest = max(1, math.ceil(shortest_share * min(len(clip), recipe.max_frames)))
            pieces.append(random_crop(clip, rng, shortest, recipe.max_frames))
        caption_rows = torch.tensor(
            [caption_ids[index][int(rng.integers(len(caption_ids[index])))] for index in chosen]
        )
        features, mask = collate_features(pieces)
        raw_text = sentences[caption_rows]
        same_meaning = None
        if recipe.similar_caption_threshold is not None:
            same_meaning = raw_text @ raw_text.T > recipe.similar_caption_threshold
        text = model.text_projection(raw_text)
        motion = model.motion_encoder(features, mask)
        return contrastive_loss(text, motion, recipe.temperature, same_meaning)

    final_loss = train_steps(model, recipe, batch_loss, output / LOG_NAME, progress)
    info = {
        "variant": variant,
        "headcount": headcount,
        "text_model": encoder.identity,
        "final_loss": final_loss,
    }
    return TrainedEvaluator(model, info, train.ids, validation)


def text_motion_validation(evaluator: TextMotionEvaluator, clips: EvaluatorClips) -> dict[str, Any]:
    """Text->motion retrieval accuracy of a trained evaluator on held-out clips (each with its
    finest caption), in batches of 32."""
    scores: dict[str, Any] = {"clips": len(clips.ids)}
    if not clips.ids:
        return scores
    text = evaluator.embed_text(clips.detailed_captions)
    motion = evaluator.embed_features(
        [features[: evaluator.recipe.max_frames] for features in clips.features]
    )
    size = min(R_PRECISION_BATCH_SIZE, len(clips.ids))
    scores.update(batch_size=size, chance_top3=min(3, size) / size)
    scores.update(retrieval_accuracy(text, motion, evaluator.recipe.seed))
    return scores


def _reconstruction_loss(
    model: GestureAutoencoder, features: torch.Tensor, mask: torch.Tensor, velocity_weight: float
) -> torch.Tensor:
    """Smooth L1 on normalised features plus `velocity_weight` x smooth L1 on their frame
    differences, over real frames only."""
    target = model.normalizer(features)
    reconstruction = model(features, mask)
    weights = mask[:, :, None].to(features.dtype)
    error = functional.smooth_l1_loss(reconstruction, target, reduction="none")
    loss = (error * weights).sum() / (weights.sum() * features.shape[-1]).clamp(min=1.0)
    velocity_weights = weights[:, 1:] * weights[:, :-1]
    velocity_error = functional.smooth_l1_loss(
        reconstruction.diff(dim=1), target.diff(dim=1), reduction="none"
    )
    velocity = (velocity_error * velocity_weights).sum() / (
        velocity_weights.sum() * features.shape[-1]
    ).clamp(min=1.0)
    return loss + velocity_weight * velocity


@torch.no_grad()
def reconstruction_error(model: GestureAutoencoder, clips: EvaluatorClips) -> float:
    """Mean position error (metres) of the 13 upper-body joints, pelvis-relative, when whole
    clips go through the autoencoder."""
    total = joints = 0.0
    for features in clips.features:
        batch, mask = collate_features([features])
        reconstruction = model(batch, mask)[0, : len(features)]
        metres = reconstruction * model.normalizer.std + model.normalizer.mean
        error = (metres - batch[0, : len(features)]).reshape(len(features), -1, 3)
        total += float(error.norm(dim=-1).sum())
        joints += len(features) * len(UPPER_BODY_JOINTS)
    return total / max(joints, 1.0)


def _gesture_training(
    corpus: Corpus, recipe: GestureEvaluatorRecipe, output: Path, progress: ProgressCallback | None
) -> TrainedEvaluator:
    """Train the gesture autoencoder on single-person training clips (with speech, by default)."""
    speech_only = recipe.clips == "speech"
    indices = select_clips(corpus, "train", 1, captioned=False, speech_only=speech_only)
    if not indices:
        wanted = (
            "single-person training clips with speech"
            if speech_only
            else ("single-person training clips")
        )
        raise EvaluatorError(f"{corpus.path}: no {wanted} (the gesture evaluator needs some)")
    train = load_clips(corpus, indices, gesture_features)
    validation = load_clips(
        corpus,
        select_clips(corpus, "val", 1, captioned=False, speech_only=speech_only),
        gesture_features,
    )
    mean, std = feature_statistics(train.features)
    torch.manual_seed(recipe.seed)
    model = GestureAutoencoder(recipe, GESTURE_CHANNELS)
    model.normalizer.set_statistics(torch.from_numpy(mean), torch.from_numpy(std))

    def batch_loss(step: int) -> torch.Tensor:
        rng = np.random.default_rng([recipe.seed, step])
        chosen = rng.integers(0, len(train.ids), size=recipe.batch_size)
        pieces = [
            random_crop(train.features[index], rng, recipe.crop_frames, recipe.crop_frames)
            for index in chosen
        ]
        features, mask = collate_features(pieces)
        return _reconstruction_loss(model, features, mask, recipe.velocity_weight)

    final_loss = train_steps(model, recipe, batch_loss, output / LOG_NAME, progress)
    return TrainedEvaluator(model, {"final_loss": final_loss}, train.ids, validation)


def gesture_validation(evaluator: GestureEvaluator, clips: EvaluatorClips) -> dict[str, Any]:
    """Reconstruction error of a trained gesture evaluator on held-out clips."""
    scores: dict[str, Any] = {"clips": len(clips.ids)}
    if clips.ids:
        scores["reconstruction_error_metres"] = reconstruction_error(evaluator.model, clips)
    return scores


def resolve_recipe(
    kind: EvaluatorKind,
    recipe_path: Path | None,
    overrides: dict[str, Any],
) -> EvaluatorRecipe:
    """The recipe file's settings (the built-in defaults without one), with the given overrides
    (None values ignored); a recipe of another kind is a `RecipeError`."""
    recipe_type = RECIPE_TYPES[kind]
    recipe = load_evaluator_recipe(recipe_path, kind) if recipe_path else recipe_type()
    changes = {name: value for name, value in overrides.items() if value is not None}
    if kind == "gesture" and changes.pop("headcount", 1) != 1:
        raise EvaluatorError("the gesture evaluator reads single-person motion (headcount 1)")
    try:
        return recipe_type.model_validate({**recipe.model_dump(), **changes})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "recipe"
        raise EvaluatorError(f"evaluator setting {where}: {first['msg']}") from None


def fit_evaluator(
    corpus: Path,
    kind: EvaluatorKind,
    output: Path,
    *,
    recipe: Path | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int | None = None,
    headcount: int | None = None,
    progress: ProgressCallback | None = None,
    overwrite: bool = False,
) -> Path:
    """Train an evaluator of `kind` on the `train` split of `corpus`, write it to `output` and
    return `output`.

    Settings come from `recipe` (default: the built-in ones, as in
    `recipes/evaluator-KIND.yaml`); `steps`, `batch_size`, `learning_rate`, `seed` and
    `headcount` (text-motion: 1 or 2 people) override it. The directory is written in a
    staging directory and renamed at the end; an existing `output` is replaced only with
    `overwrite`.
    """
    output = Path(output)
    if kind not in RECIPE_TYPES:
        raise EvaluatorError(f"unknown evaluator kind {kind!r} (known: text-motion, gesture)")
    check_output_directory(output)
    if output.exists() and not overwrite:
        raise EvaluatorError(f"{output}: already exists (pass --overwrite to replace it)")
    settings = resolve_recipe(
        kind,
        recipe,
        {
            "steps": steps,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "seed": seed,
            "headcount": headcount,
        },
    )
    opened = open_corpus(corpus)
    staging = staging_directory(output)
    started = time.monotonic()
    # These networks are small: one thread trains them about as fast as several on idle cores,
    # and three times faster than two on two busy ones (threads then wait on each other).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if isinstance(settings, TextMotionEvaluatorRecipe):
            trained = _text_motion_training(opened, settings, staging, progress)
        else:
            trained = _gesture_training(opened, settings, staging, progress)
        seconds = time.monotonic() - started
        save_weights(trained.model, staging / WEIGHTS_NAME)
        info = _evaluator_info(staging, output, kind, settings, opened, trained, seconds)
        _write_info(staging, info)
        evaluator = load_evaluator(staging)
        if isinstance(evaluator, TextMotionEvaluator):
            info["validation"] = text_motion_validation(evaluator, trained.validation)
        else:
            info["validation"] = gesture_validation(evaluator, trained.validation)
        _write_info(staging, info)
        publish_directory(staging, output)
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(staging, ignore_errors=True)
    return output


def _evaluator_info(
    directory: Path,
    output: Path,
    kind: EvaluatorKind,
    recipe: EvaluatorRecipe,
    corpus: Corpus,
    trained: TrainedEvaluator,
    seconds: float,
) -> dict[str, Any]:
    """The content of `evaluator.json` (validation scores are added once it can be loaded):
    `directory` holds the weights now, `output` is where the evaluator will be, which the
    corpus path is recorded relative to (`files.path_for_record`)."""
    recipe_content = recipe.model_dump(mode="json")
    details = dict(trained.info)
    final_loss = details.pop("final_loss")
    info: dict[str, Any] = {
        "format": EVALUATOR_FORMAT,
        "version": EVALUATOR_VERSION,
        "kind": kind,
        **details,
        "identity": evaluator_identity(
            directory / WEIGHTS_NAME, recipe_content, details.get("text_model")
        ),
        "vermo_version": __version__,
        "recipe": recipe_content,
        "corpus": {
            "path": path_for_record(corpus.path, output / INFO_NAME),
            "identity": corpus.identity,
            "train_clips": len(trained.train_ids),
            "train_clip_ids": clip_ids_identity(trained.train_ids),
            "validation_split": "val",
        },
        "training": {"steps": recipe.steps, "seconds": round(seconds, 1), "final_loss": final_loss},
        "validation": {},
    }
    info["summary"] = summary_line(info)
    return info


def _write_info(directory: Path, info: dict[str, Any]) -> None:
    (directory / INFO_NAME).write_text(json_text(info))
