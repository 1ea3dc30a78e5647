"""Training batches for FlowVQ: random crops of single-agent sequences from a corpus split.

Every batch is a pure function of (seed, step), so training resumed from a checkpoint sees
exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vermo_cli.data.store import Corpus, motion_arrays
from vermo_cli.errors import CorpusError
from vermo_cli.tokenizers.flowvq.features import MotionNormalizer


@dataclass
class MotionBatch:
    """`motion` `[batch, frames, channels]` normalised features (zero-padded), `frame_mask`
    `[batch, frames]` True on real frames, `joint_mask` `[batch, 52]` True on valid joints,
    `channel_mask` `[batch, channels]` True on the feature channels of valid joints."""

    motion: torch.Tensor
    frame_mask: torch.Tensor
    joint_mask: torch.Tensor
    channel_mask: torch.Tensor


class SequenceBank:
    """All single-agent sequences of some corpus splits, normalised, held in memory.

    `[frames, channels]` float32 per agent: 1 hour of motion is about 67 MB.
    """

    def __init__(
        self, corpus: Corpus, splits: tuple[str, ...], normalizer: MotionNormalizer
    ) -> None:
        rows = corpus.clips.filter(
            lambda split: split in splits, input_columns="split", keep_in_memory=True
        )
        if len(rows) == 0:
            raise CorpusError(f"{corpus.path}: no clips in split(s) {', '.join(splits)}")
        self.sequences: list[np.ndarray] = []
        self.joint_masks: list[np.ndarray] = []
        self.channel_masks: list[np.ndarray] = []
        self.clip_ids: list[str] = []
        for clip_id, motion, joint_mask in zip(
            rows["id"], motion_arrays(rows), rows["joint_mask"], strict=True
        ):
            mask = np.asarray(joint_mask, dtype=bool)
            for agent in motion:
                self.sequences.append(normalizer.normalize(agent, mask))
                self.joint_masks.append(mask)
                self.channel_masks.append(normalizer.channel_mask(mask))
                self.clip_ids.append(clip_id)

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def frames(self) -> int:
        """Total frames over all sequences."""
        return sum(len(s) for s in self.sequences)


def _collate(
    bank: SequenceBank, pieces: list[np.ndarray], indices: list[int], multiple: int
) -> MotionBatch:
    longest = max(len(p) for p in pieces)
    padded_length = -(-longest // multiple) * multiple
    motion = np.zeros((len(pieces), padded_length, pieces[0].shape[-1]), dtype=np.float32)
    frame_mask = np.zeros((len(pieces), padded_length), dtype=bool)
    for index, piece in enumerate(pieces):
        motion[index, : len(piece)] = piece
        frame_mask[index, : len(piece)] = True
    return MotionBatch(
        motion=torch.from_numpy(motion),
        frame_mask=torch.from_numpy(frame_mask),
        joint_mask=torch.from_numpy(np.stack([bank.joint_masks[i] for i in indices])),
        channel_mask=torch.from_numpy(np.stack([bank.channel_masks[i] for i in indices])),
    )


def training_batch(
    bank: SequenceBank, seed: int, step: int, batch_size: int, crop_frames: int, multiple: int
) -> MotionBatch:
    """Batch `step` of a run: sequences drawn uniformly, each cropped at a random start to at
    most `crop_frames`, padded to a multiple of `multiple` frames."""
    rng = np.random.default_rng([seed, step])
    chosen = rng.integers(0, len(bank), size=batch_size)
    pieces = []
    for index in chosen:
        sequence = bank.sequences[index]
        length = min(crop_frames, len(sequence))
        start = int(rng.integers(0, len(sequence) - length + 1))
        pieces.append(sequence[start : start + length])
    return _collate(bank, pieces, chosen.tolist(), multiple)


def validation_batches(
    bank: SequenceBank, batch_size: int, crop_frames: int, multiple: int, limit: int = 256
) -> list[MotionBatch]:
    """Fixed batches for validation loss: the first `crop_frames` of up to `limit` sequences."""
    count = min(limit, len(bank))
    batches = []
    for first in range(0, count, batch_size):
        indices = range(first, min(first + batch_size, count))
        pieces = [bank.sequences[i][:crop_frames] for i in indices]
        batches.append(_collate(bank, pieces, list(indices), multiple))
    return batches
