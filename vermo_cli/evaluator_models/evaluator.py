"""Trained evaluators as `vermo eval` uses them: load a directory, embed motions and captions.

`load_evaluator(path)` returns a `TextMotionEvaluator` (R-precision, FID, MM-Dist, Diversity:
`embed_motion`, `embed_text`) or a `GestureEvaluator` (FGD: `embed_gesture`). Embeddings are
float32 numpy arrays, computed in batches on the CPU unless another device is given; a motion's
embedding does not depend on the other motions of its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from vermo_cli.evaluator_models.features import (
    GESTURE_CHANNELS,
    gesture_features,
    text_motion_channels,
    text_motion_features,
)
from vermo_cli.evaluator_models.networks import (
    FRAMES_PER_TOKEN,
    GestureAutoencoder,
    TextMotionModel,
    downsampled_mask,
)
from vermo_cli.evaluator_models.recipe import GestureEvaluatorRecipe, TextMotionEvaluatorRecipe
from vermo_cli.evaluator_models.store import (
    WEIGHTS_NAME,
    EvaluatorError,
    check_identity,
    read_info,
    summary_line,
)
from vermo_cli.evaluator_models.text_encoder import sentence_encoder
from vermo_cli.motion.skeleton import NUM_JOINTS
from vermo_cli.weights import read_safetensors

TextMotionVariant = Literal["single-person", "two-person"]
EMBEDDING_BATCH = 64


def text_motion_variant(headcount: int) -> TextMotionVariant:
    """Which text-motion evaluator scores a clip of `headcount` people: `single-person` for 1,
    `two-person` for 2 (trained separately, as in the paper); `EvaluatorError` for any other."""
    if headcount == 1:
        return "single-person"
    if headcount == 2:
        return "two-person"
    raise EvaluatorError(
        f"no text-motion evaluator for {headcount} people (there are single- and two-person ones)"
    )


def check_motion(motion: np.ndarray, agents: int, what: str) -> np.ndarray:
    """`motion` as float32 `[agents, frames, 52, 3]` with at least one frame; `EvaluatorError`
    naming `what` otherwise."""
    motion = np.asarray(motion, dtype=np.float32)
    if motion.ndim != 4 or motion.shape[2:] != (NUM_JOINTS, 3) or motion.shape[1] < 1:
        raise EvaluatorError(
            f"{what}: motion must be [agents, frames, {NUM_JOINTS}, 3], got {motion.shape}"
        )
    if motion.shape[0] != agents:
        raise EvaluatorError(
            f"{what}: has {motion.shape[0]} agent(s), this evaluator reads {agents}"
        )
    return motion


def collate_features(features: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """`[frames, channels]` arrays -> zero-padded `[batch, frames, channels]` and frame mask
    `[batch, frames]`, frames rounded up to a multiple of 4."""
    longest = max(len(piece) for piece in features)
    frames = -(-longest // FRAMES_PER_TOKEN) * FRAMES_PER_TOKEN
    batch = np.zeros((len(features), frames, features[0].shape[-1]), dtype=np.float32)
    mask = np.zeros((len(features), frames), dtype=bool)
    for index, piece in enumerate(features):
        batch[index, : len(piece)] = piece
        mask[index, : len(piece)] = True
    return torch.from_numpy(batch), torch.from_numpy(mask)


class _Evaluator:
    """What both kinds share: the info JSON, identity, description and device."""

    def __init__(self, directory: Path, info: dict[str, Any], device: torch.device) -> None:
        self.directory = directory
        self.info = info
        self.device = device

    @property
    def identity(self) -> str:
        """16 hex digits that change whenever the embeddings could change (`load_evaluator`
        computed them from the weights file and found them equal to the recorded ones)."""
        return self.info["identity"]

    @property
    def corpus_identity(self) -> str:
        """Identity of the corpus the evaluator was trained on (`Corpus.identity`)."""
        return self.info["corpus"]["identity"]

    @property
    def summary(self) -> str:
        """`evaluator KIND vN IDENTITY trained on CORPUS` (plus the variant), for reports."""
        return summary_line(self.info)

    def describe(self) -> dict[str, Any]:
        """What a benchmark report records about the evaluator it used."""
        described = {
            "kind": self.info["kind"],
            "version": self.info["version"],
            "identity": self.identity,
            "corpus_identity": self.corpus_identity,
            "summary": self.summary,
            "validation": self.info.get("validation", {}),
        }
        if "variant" in self.info:
            described.update(variant=self.info["variant"], headcount=self.info["headcount"])
        return described


class TextMotionEvaluator(_Evaluator):
    """Text and motion in one space: unit vectors `[n, embedding_dim]`, matching pairs close."""

    kind = "text-motion"

    def __init__(
        self,
        directory: Path,
        info: dict[str, Any],
        recipe: TextMotionEvaluatorRecipe,
        model: TextMotionModel,
        device: torch.device,
    ) -> None:
        super().__init__(directory, info, device)
        self.recipe = recipe
        self.model = model.eval().to(device)

    @property
    def headcount(self) -> int:
        """People per motion this evaluator reads (1 or 2)."""
        return self.recipe.headcount

    @property
    def variant(self) -> TextMotionVariant:
        """`single-person` or `two-person`."""
        return text_motion_variant(self.recipe.headcount)

    @torch.no_grad()
    def embed_motion(self, motions: Sequence[np.ndarray]) -> np.ndarray:
        """Motions `[headcount, frames, 52, 3]` (metres, canonical frame, 30 fps) -> `[n,
        embedding_dim]` float32 unit vectors. Motions longer than `max_frames` are cut to
        their first `max_frames` frames."""
        features = [
            text_motion_features(check_motion(motion, self.headcount, f"motion {index}"))[
                : self.recipe.max_frames
            ]
            for index, motion in enumerate(motions)
        ]
        return self.embed_features(features)

    @torch.no_grad()
    def embed_features(self, features: Sequence[np.ndarray]) -> np.ndarray:
        """`[frames, channels]` pose features (`text_motion_features`) -> `[n, embedding_dim]`."""
        embeddings = [np.zeros((0, self.recipe.embedding_dim), dtype=np.float32)]
        for first in range(0, len(features), EMBEDDING_BATCH):
            batch, mask = collate_features(features[first : first + EMBEDDING_BATCH])
            encoded = self.model.motion_encoder(batch.to(self.device), mask.to(self.device))
            embeddings.append(encoded.cpu().numpy())
        return np.concatenate(embeddings).astype(np.float32)

    @torch.no_grad()
    def embed_text(self, captions: Sequence[str]) -> np.ndarray:
        """Captions -> `[n, embedding_dim]` float32 unit vectors (the frozen MiniLM embedding
        through the trained projection)."""
        encoder = sentence_encoder()
        if encoder.identity != self.info["text_model"]:
            raise EvaluatorError(
                f"{self.directory}: trained with text model {self.info['text_model']}, "
                f"installed is {encoder.identity}; retrain the evaluator"
            )
        sentences = torch.from_numpy(encoder.encode(list(captions))).to(self.device)
        return self.model.text_projection(sentences).cpu().numpy().astype(np.float32)


class GestureEvaluator(_Evaluator):
    """The encoder of a gesture autoencoder: latents for Fréchet Gesture Distance."""

    kind = "gesture"

    def __init__(
        self,
        directory: Path,
        info: dict[str, Any],
        recipe: GestureEvaluatorRecipe,
        model: GestureAutoencoder,
        device: torch.device,
    ) -> None:
        super().__init__(directory, info, device)
        self.recipe = recipe
        self.model = model.eval().to(device)

    @torch.no_grad()
    def gesture_latents(self, motions: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Single-person motions `[1, frames, 52, 3]` (metres, 30 fps) -> per motion its latents
        `[ceil(frames / 4), latent_dim]` float32, one per 4 frames (0.13 s)."""
        features = [
            gesture_features(check_motion(motion, 1, f"motion {index}"))
            for index, motion in enumerate(motions)
        ]
        latents: list[np.ndarray] = []
        for first in range(0, len(features), EMBEDDING_BATCH):
            chunk = features[first : first + EMBEDDING_BATCH]
            batch, mask = collate_features(chunk)
            encoded = self.model.encode(batch.to(self.device), mask.to(self.device)).cpu()
            steps = downsampled_mask(mask, FRAMES_PER_TOKEN).sum(dim=1)
            latents += [
                encoded[index, : int(count)].numpy().astype(np.float32)
                for index, count in enumerate(steps)
            ]
        return latents

    def embed_gesture(self, motions: Sequence[np.ndarray]) -> np.ndarray:
        """Single-person motions `[1, frames, 52, 3]` -> `[n, latent_dim]` float32: the mean of
        each motion's latents over time (the features FGD compares)."""
        latents = self.gesture_latents(motions)
        pooled = np.zeros((len(latents), self.recipe.latent_dim), dtype=np.float32)
        for index, steps in enumerate(latents):
            pooled[index] = steps.mean(axis=0)
        return pooled


def load_evaluator(
    path: Path, device: str | torch.device = "cpu"
) -> TextMotionEvaluator | GestureEvaluator:
    """Load an evaluator directory written by `fit_evaluator`; `EvaluatorError` if it is not
    one, or if its weights changed since `evaluator.json` was written."""
    directory = Path(path)
    info = read_info(directory)
    weights = read_safetensors(directory / WEIGHTS_NAME)  # first: a cut file is named as such
    check_identity(directory, info)
    device = torch.device(device)
    if info["kind"] == "text-motion":
        recipe = TextMotionEvaluatorRecipe.model_validate(info["recipe"])
        text_motion = TextMotionModel(recipe, text_motion_channels(recipe.headcount))
        text_motion.load_state_dict(weights)
        return TextMotionEvaluator(directory, info, recipe, text_motion, device)
    if info["kind"] == "gesture":
        gesture_recipe = GestureEvaluatorRecipe.model_validate(info["recipe"])
        autoencoder = GestureAutoencoder(gesture_recipe, GESTURE_CHANNELS)
        autoencoder.load_state_dict(weights)
        return GestureEvaluator(directory, info, gesture_recipe, autoencoder, device)
    raise EvaluatorError(f"{directory}: unknown evaluator kind {info['kind']!r}")
