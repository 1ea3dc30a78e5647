"""Named benchmark metrics of one system's outputs, computed from the metric functions in
`vermo_cli.metrics` and the evaluator models.

A task plugin only names its metrics (`TaskSpec.metrics`); `METRICS` maps every name vermo knows
to how it is computed on a benchmark, so a new task that reports, say, `fid` and `ade` needs no
evaluation code. Shared work (evaluator embeddings, features, beats) is computed once per
system and reused by every metric that needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from vermo_cli.evaluate.clips import AUDIO_RATE, BenchmarkClip
from vermo_cli.evaluate.evaluator_set import EvaluatorSet
from vermo_cli.evaluate.systems import SystemOutputs, reply_frames
from vermo_cli.messages.builder import MOTION_FPS
from vermo_cli.messages.tasks import TaskSpec
from vermo_cli.metrics import captions as caption_metrics
from vermo_cli.metrics import dance, distribution, gesture, music, retrieval
from vermo_cli.motion.skeleton import NUM_BODY_JOINTS

R_PRECISION_BATCH = 32
"""Texts ranked against this many motions at a time (the HumanML3D protocol)."""
DIVERSITY_PAIRS = 300
"""Pairs of samples whose distances average to Diversity (the HumanML3D protocol)."""
MULTIMODALITY_PAIRS = 10
"""Pairs per prompt whose distances average to MultiModality."""


def r_precision_batch(clips: int) -> int:
    """Motions each text is ranked against: 32, or all clips when there are fewer (quick runs
    with `--limit`; such numbers are not comparable with published ones)."""
    return min(R_PRECISION_BATCH, clips)


class ScoringError(ValueError):
    """A metric cannot be computed on these outputs (a bug in a task's metric list)."""


@dataclass
class Scoring:
    """The metrics of one system on the clips of one task; features are computed on first use.

    `real` is the ground truth's scoring, which the distribution metrics (FID, FID_k, FGD)
    compare against; `seed` drives the random draws (Diversity pairs, R-precision batches).
    """

    task: TaskSpec
    clips: Sequence[BenchmarkClip]
    outputs: SystemOutputs
    evaluators: EvaluatorSet
    seed: int
    real: Scoring | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def reference(self) -> Scoring:
        """The ground truth's scoring (this one, for the Real row)."""
        return self.real if self.real is not None else self

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator for one random draw, the same for every system at one seed."""
        return np.random.default_rng([self.seed, sum(map(ord, purpose))])

    def motions(self) -> list[np.ndarray]:
        """The system's motions `[agents, frames, 52, 3]`; `ScoringError` if it made none."""
        motions = self.outputs.motions
        if any(motion is None for motion in motions):
            raise ScoringError(f"{self.outputs.name} made no motion for some {self.task.name} clip")
        return [motion for motion in motions if motion is not None]

    @cached_property
    def motion_embeddings(self) -> np.ndarray:
        """Text-motion evaluator embeddings `[clips, d]` of the system's motions."""
        return self.evaluators.embed_motion(self.motions(), self._headcount)

    @cached_property
    def ground_truth_motion_embeddings(self) -> np.ndarray:
        """Evaluator embeddings `[clips, d]` of the ground-truth motions."""
        return self.reference.motion_embeddings

    @cached_property
    def caption_embeddings(self) -> np.ndarray:
        """Evaluator text embeddings `[clips, d]` of the system's captions."""
        captions = self.outputs.captions
        if any(caption is None for caption in captions):
            raise ScoringError(f"{self.outputs.name} made no caption for some clip")
        return self.evaluators.embed_text([c or "" for c in captions], self._headcount)

    @cached_property
    def retrieval_pair(self) -> tuple[np.ndarray, np.ndarray]:
        """(text, motion) embeddings whose match is measured: the prompt's caption against the
        generated motion for text-to-motion, the generated caption against the ground-truth
        motion for captioning."""
        if "caption" in self.task.reply:
            return self.caption_embeddings, self.ground_truth_motion_embeddings
        return self.reference.caption_embeddings, self.motion_embeddings

    @cached_property
    def _headcount(self) -> int:
        return self.clips[0].tokens.headcount

    def feature(self, name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def kinetic_features(self) -> np.ndarray:
        """Kinetic features `[clips, d]` of the first person of each motion."""
        return self.feature(
            "kinetic",
            lambda: np.stack(
                [
                    dance.kinetic_features(m[0, :, :NUM_BODY_JOINTS], MOTION_FPS)
                    for m in self.motions()
                ]
            ),
        )

    def geometric_features(self) -> np.ndarray:
        """Geometric features `[clips, d]` of the first person of each motion."""
        return self.feature(
            "geometric",
            lambda: np.stack(
                [dance.geometric_features(m[0, :, :NUM_BODY_JOINTS]) for m in self.motions()]
            ),
        )

    def gesture_embeddings(self) -> np.ndarray:
        """Gesture-autoencoder latents `[clips, d]` of the motions."""
        return self.feature("gesture", lambda: self.evaluators.embed_gesture(self.motions()))

    def beat_alignment(self) -> float:
        """Mean beat alignment of each motion to its clip's audio: the Beat Alignment Score
        against music beats for dance, the gesture beat alignment against speech onsets for
        speech (see `vermo_cli.metrics.dance` and `.gesture`)."""
        scores = []
        for clip, motion in zip(self.clips, self.motions(), strict=True):
            if clip.audio is None:
                raise ScoringError(f"clip {clip.id} has no audio to align to")
            body = motion[0, :, :NUM_BODY_JOINTS]
            if self.task.audio_kind == "speech":
                onsets = gesture.speech_beats(clip.audio, AUDIO_RATE)
                strokes = gesture.gesture_motion_beats(body, MOTION_FPS)
                scores.append(gesture.gesture_beat_alignment(onsets, strokes))
            else:
                beats = dance.music_beats(clip.audio, AUDIO_RATE)
                kinematic = dance.motion_beats(body, MOTION_FPS)
                seconds = body.shape[0] / MOTION_FPS
                scores.append(
                    dance.beat_alignment_score(beats, kinematic, duration_seconds=seconds)
                )
        finite = [score for score in scores if not np.isnan(score)]
        return float(np.mean(finite)) if finite else float("nan")

    def music_beat_scores(self) -> dict[str, float]:
        """Beats coverage, beats hit and F1 of the system's music against the clip's."""
        if "music_beats" not in self._cache:
            generated, reference = [], []
            for clip, audio in zip(self.clips, self.outputs.audio, strict=True):
                if audio is None or clip.audio is None:
                    raise ScoringError(f"no music to compare for clip {clip.id}")
                generated.append(dance.music_beats(*audio))
                reference.append(dance.music_beats(clip.audio, AUDIO_RATE))
            self._cache["music_beats"] = music.music_beat_scores(generated, reference)
        return self._cache["music_beats"]

    def completion_errors(self) -> tuple[float, float]:
        """(ADE, FDE) in metres over the generated frames, body joints."""
        if "completion" not in self._cache:
            displacements, finals = [], []
            for clip, motion in zip(self.clips, self.motions(), strict=True):
                first, last = reply_frames(self.task, clip)
                last = min(last, motion.shape[1])
                made = motion[:, first:last, :NUM_BODY_JOINTS]
                truth = clip.joints[:, first:last, :NUM_BODY_JOINTS]
                errors = np.linalg.norm(made - truth, axis=-1)  # [agents, frames, joints]
                displacements.append(errors.mean())
                finals.append(errors[:, -1].mean())
            self._cache["completion"] = (float(np.mean(displacements)), float(np.mean(finals)))
        return self._cache["completion"]

    def caption_scores(self) -> dict[str, float]:
        """BLEU, ROUGE-L, CIDEr-D and BERTScore of the captions against each clip's captions.

        For the Real row each clip's first caption is scored against its other captions (clips
        with one caption are left out)."""
        if "captions" not in self._cache:
            hypotheses, references = [], []
            for clip, caption in zip(self.clips, self.outputs.captions, strict=True):
                others = list(clip.captions[1:]) if self.outputs.is_real else list(clip.captions)
                if caption is None or not others:
                    continue
                hypotheses.append(caption)
                references.append(others)
            if not hypotheses:
                self._cache["captions"] = {}
            else:
                self._cache["captions"] = caption_metrics.caption_metrics(hypotheses, references)
        return self._cache["captions"]

    def value(self, metric: str) -> float:
        """The metric named `metric` (NaN where it is not defined for this system)."""
        if metric not in METRICS:
            raise ScoringError(f"task {self.task.name} reports unknown metric {metric!r}")
        return float(METRICS[metric](self))


def _r_precision(k: int) -> Callable[[Scoring], float]:
    def compute(scoring: Scoring) -> float:
        texts, motions = scoring.retrieval_pair
        batch = r_precision_batch(len(texts))
        values = retrieval.r_precision(texts, motions, batch_size=batch, top_k=3, seed=scoring.seed)
        return values[k - 1]

    return compute


def _multimodality(scoring: Scoring) -> float:
    groups = scoring.outputs.multimodality
    if scoring.outputs.is_real or not groups:
        return float("nan")
    count = min(len(group) for group in groups)
    embedded = np.stack(
        [scoring.evaluators.embed_motion(group[:count], scoring._headcount) for group in groups]
    )
    pairs = min(MULTIMODALITY_PAIRS, count)
    return distribution.multimodality(embedded, pairs=pairs, seed=scoring.seed)


def _caption(metric: str) -> Callable[[Scoring], float]:
    return lambda scoring: scoring.caption_scores().get(metric, float("nan"))


def _music(metric: str) -> Callable[[Scoring], float]:
    return lambda scoring: scoring.music_beat_scores()[metric]


METRICS: dict[str, Callable[[Scoring], float]] = {
    "fid": lambda s: distribution.frechet_distance(
        s.motion_embeddings, s.ground_truth_motion_embeddings
    ),
    "diversity": lambda s: distribution.diversity(
        s.motion_embeddings, pairs=DIVERSITY_PAIRS, seed=s.seed
    ),
    "multimodality": _multimodality,
    "r_precision_top1": _r_precision(1),
    "r_precision_top2": _r_precision(2),
    "r_precision_top3": _r_precision(3),
    "mm_dist": lambda s: retrieval.multimodal_distance(*s.retrieval_pair),
    "bleu1": _caption("bleu1"),
    "bleu4": _caption("bleu4"),
    "rouge_l": _caption("rouge_l"),
    "cider": _caption("cider"),
    "bertscore": _caption("bertscore"),
    "fid_k": lambda s: dance.standardized_frechet_distance(
        s.kinetic_features(), s.reference.kinetic_features()
    ),
    "fid_g": lambda s: dance.standardized_frechet_distance(
        s.geometric_features(), s.reference.geometric_features()
    ),
    "div_k": lambda s: dance.standardized_diversity(
        s.kinetic_features(), s.reference.kinetic_features()
    ),
    "div_g": lambda s: dance.standardized_diversity(
        s.geometric_features(), s.reference.geometric_features()
    ),
    "beat_align": lambda s: s.beat_alignment(),
    "beats_coverage": _music("beats_coverage"),
    "beats_hit": _music("beats_hit"),
    "beat_f1": _music("beat_f1"),
    "fgd": lambda s: gesture.frechet_gesture_distance(
        s.gesture_embeddings(), s.reference.gesture_embeddings()
    ),
    "l1div": lambda s: gesture.l1_divergence([m[0, :, :NUM_BODY_JOINTS] for m in s.motions()]),
    "ade": lambda s: s.completion_errors()[0],
    "fde": lambda s: s.completion_errors()[1],
}
"""How each metric a task may name is computed on a benchmark."""
