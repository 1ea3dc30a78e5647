"""`vermo eval TASK`: generate for every benchmark clip, score the model, the ground truth and a
baseline with the task's metrics over several seeded replications, and report means with 95 %
intervals and the protocol that produced them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vermo_cli import __version__
from vermo_cli.errors import VermoError
from vermo_cli.evaluate.clips import BenchmarkData, load_benchmark_data
from vermo_cli.evaluate.distributed import gather_generations
from vermo_cli.evaluate.evaluator_set import EvaluatorSet
from vermo_cli.evaluate.scoring import (
    DIVERSITY_PAIRS,
    MULTIMODALITY_PAIRS,
    R_PRECISION_BATCH,
    Scoring,
    r_precision_batch,
)
from vermo_cli.evaluate.systems import (
    SystemOutputs,
    baseline_outputs,
    half_beat_delays,
    half_beat_late,
    model_outputs,
    real_outputs,
    shifts_by_half_a_beat,
)
from vermo_cli.generate import DEFAULT_TEMPERATURE
from vermo_cli.generate.prompt import Prompt, benchmark_prompt, check_candidates
from vermo_cli.generate.session import Decoder, Generation, GenerationModel, SamplingOptions
from vermo_cli.messages.tasks import TaskSpec, get_task
from vermo_cli.metrics.captions import bertscore_model_description

MULTIMODALITY_SEED_OFFSET = 1_000_000
"""Added to a replication's seed for its MultiModality samples."""
ProgressCallback = Callable[[int, int], None]
"""Called with (replies generated so far, replies in all replications)."""


class BenchmarkError(VermoError):
    """A benchmark cannot run as requested."""


@dataclass(frozen=True)
class BenchmarkRequest:
    """Everything `vermo eval TASK` was asked to do."""

    task: str
    split: str = "test"
    checkpoint: Path | None = None
    data: Path | None = None
    """Token corpus; default: the one the checkpoint was trained on."""
    text_motion_evaluator: Path | None = None
    gesture_evaluator: Path | None = None
    replications: int = 20
    limit: int | None = None
    seed: int = 0
    batch_size: int = 16
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = 0.95
    decoder: Decoder = "flow"
    flow_steps: int | None = None
    multimodality_prompts: int = 100
    multimodality_samples: int = 10
    candidates: int = 1
    """pred/btwn: replies per clip, the one closest to the given motion at the seams kept."""


@dataclass
class MetricSummary:
    """One metric of one system over the replications: mean, 95 % interval half-width
    (1.96 standard deviations of the replications over their square root) and every value."""

    mean: float
    interval: float
    values: list[float]


@dataclass
class BenchmarkReport:
    """The result of one `vermo eval`: a row per system, how it was obtained, what a reader must
    know to compare it (`notes`), and for captioning tasks the captions that were scored."""

    task: str
    metrics: list[str]
    rows: dict[str, dict[str, MetricSummary]]
    protocol: dict[str, Any]
    seconds: float
    model_row: str = "model"
    notes: list[str] = field(default_factory=list)
    captions: dict[str, Any] | None = None
    """Captioning tasks: `baseline` (its system and caption, or None) and `clips`, per clip its
    `id`, reference `captions` and the model's caption of each replication (`generated`)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN written as null)."""

        def clean(value: float) -> float | None:
            return None if math.isnan(value) else value

        return {
            "task": self.task,
            "vermo_version": __version__,
            "metrics": self.metrics,
            "rows": {
                system: {
                    name: {
                        "mean": clean(summary.mean),
                        "ci95": clean(summary.interval),
                        "values": [clean(v) for v in summary.values],
                    }
                    for name, summary in row.items()
                }
                for system, row in self.rows.items()
            },
            "protocol": self.protocol,
            "seconds": self.seconds,
            "notes": self.notes,
            "captions": self.captions,
        }


def comparability_notes(task: TaskSpec, clips: int) -> list[str]:
    """What makes these numbers not comparable with published ones: R-precision ranked among
    fewer than 32 motions when there are fewer clips (a smaller batch scores higher)."""
    notes = []
    batch = r_precision_batch(clips)
    if any(name.startswith("r_precision") for name in task.metrics) and batch < R_PRECISION_BATCH:
        notes.append(
            f"R-precision ranked each text among {batch} motions, not {R_PRECISION_BATCH} "
            f"(only {clips} clips): not comparable with published numbers"
        )
    return notes


def summarize(values: list[float]) -> MetricSummary:
    """Mean and 95 % interval half-width of replication values (NaN ones left out)."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return MetricSummary(float("nan"), float("nan"), values)
    spread = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return MetricSummary(float(np.mean(finite)), 1.96 * spread / math.sqrt(len(finite)), values)


@dataclass
class Benchmark:
    """A benchmark ready to run: model, clips, evaluators and prompts loaded and checked (so
    every user mistake surfaces before the first reply is sampled)."""

    request: BenchmarkRequest
    task: TaskSpec
    model: GenerationModel
    data: BenchmarkData
    evaluators: EvaluatorSet
    prompts: list[Prompt]
    baseline: SystemOutputs | None
    multimodality: int
    """Prompts sampled `multimodality_samples` extra times for MultiModality."""

    @classmethod
    def prepare(cls, request: BenchmarkRequest) -> Benchmark:
        """Load and check everything `request` names; `VermoError` on any mistake."""
        task = get_task(request.task)
        if not task.metrics:
            raise BenchmarkError(f"{task.name} is not a benchmark task (it declares no metrics)")
        if request.replications < 1:
            raise BenchmarkError("--replications must be at least 1")
        check_candidates(task, request.candidates)
        model = GenerationModel.load(request.checkpoint)
        token_corpus = _token_corpus(request, model)
        data = load_benchmark_data(token_corpus, task, request.split, request.limit)
        # Distribution metrics (FID, FGD, Diversity) need two samples; R-precision top-3 ranks
        # each caption among three motions at least.
        fewest = 3 if "r_precision_top3" in task.metrics else 2
        if len(data.clips) < fewest:
            raise BenchmarkError(
                f"{task.name} needs at least {fewest} clips to score; split '{request.split}' "
                f"gives {len(data.clips)} (raise --limit or choose a larger split)"
            )
        if data.tokenizer_identity != model.vocabulary.built_for.motion:
            raise BenchmarkError(
                f"{data.token_corpus} was encoded with another FlowVQ tokenizer than "
                f"{model.directory} was trained with"
            )
        evaluators = EvaluatorSet.for_metrics(
            task.metrics,
            data.clips[0].tokens.headcount,
            request.text_motion_evaluator,
            request.gesture_evaluator,
        )
        return cls(
            request=request,
            task=task,
            model=model,
            data=data,
            evaluators=evaluators,
            prompts=[
                benchmark_prompt(task, clip.tokens, model, clip.joints) for clip in data.clips
            ],
            baseline=baseline_outputs(task, data.clips, data.training_captions),
            multimodality=_multimodality_prompts(task, request, len(data.clips)),
        )

    @property
    def total_replies(self) -> int:
        """Replies sampled over all replications."""
        return self.request.replications * self._replies_per_replication

    @property
    def _replies_per_replication(self) -> int:
        """Replies sampled in one replication, candidates included."""
        samples = len(self.prompts) + self.multimodality * self.request.multimodality_samples
        return samples * self.request.candidates

    def run(self, progress: ProgressCallback | None = None) -> BenchmarkReport:
        """Generate and score every replication; the report of all of them."""
        began = time.perf_counter()
        request, task, clips = self.request, self.task, self.data.clips
        shifted = shifts_by_half_a_beat(task)
        delays = half_beat_delays(clips) if shifted else []
        systems = [
            "Real",
            *([self.baseline.name] if self.baseline else []),
            "model",
            *(["model, half a beat late"] if shifted else []),
        ]
        values: dict[str, dict[str, list[float]]] = {
            system: {name: [] for name in task.metrics} for system in systems
        }
        generated_captions: list[list[str | None]] = []
        done = 0

        def advance(count: int, _: int) -> None:
            if progress:
                progress(done + count, self.total_replies)

        # The ground truth and the baseline are the same in every replication: their features
        # and embeddings are computed once, only the seeded draws change with the seed.
        real = Scoring(task, clips, real_outputs(clips), self.evaluators, request.seed)
        fixed = [real]
        if self.baseline is not None:
            fixed.append(
                Scoring(task, clips, self.baseline, self.evaluators, request.seed, real=real)
            )
        for replication in range(request.replications):
            seed = request.seed + replication
            generations = self._generate(seed, advance)
            done += self._replies_per_replication
            model = model_outputs("model", generations, self.multimodality)
            generated_captions.append(model.captions)
            scorings = [*fixed, Scoring(task, clips, model, self.evaluators, seed, real=real)]
            if shifted:
                late = half_beat_late(model, delays)
                scorings.append(Scoring(task, clips, late, self.evaluators, seed, real=real))
            for scoring in scorings:
                scoring.seed = seed
                for name in task.metrics:
                    values[scoring.outputs.name][name].append(scoring.value(name))
        return BenchmarkReport(
            task=task.name,
            metrics=list(task.metrics),
            rows={
                system: {name: summarize(v) for name, v in row.items()}
                for system, row in values.items()
            },
            protocol=_protocol(
                request, task, self.data, self.model, self.evaluators, self.multimodality
            ),
            seconds=time.perf_counter() - began,
            notes=comparability_notes(task, len(clips)),
            captions=self._captions(generated_captions) if "caption" in task.reply else None,
        )

    def _captions(self, generated: list[list[str | None]]) -> dict[str, Any]:
        """The report's `captions`: the baseline's and, per clip, the references and the model's
        caption in each replication (`generated[replication][clip]`)."""
        baseline = None
        if self.baseline is not None:
            baseline = {"system": self.baseline.name, "caption": self.baseline.captions[0]}
        clips = [
            {
                "id": clip.id,
                "captions": list(clip.captions),
                "generated": [replication[index] for replication in generated],
            }
            for index, clip in enumerate(self.data.clips)
        ]
        return {"baseline": baseline, "clips": clips}

    def _generate(self, seed: int, advance: ProgressCallback) -> list[Generation]:
        """One reply per clip, plus the MultiModality samples of the first clips."""
        request, task = self.request, self.task
        options = _sampling(request, seed, samples=1)
        requests = [(task, prompt) for prompt in self.prompts]
        generations = gather_generations(self.model, requests, options, advance)
        if self.multimodality:
            extra = _sampling(
                request, seed + MULTIMODALITY_SEED_OFFSET, samples=request.multimodality_samples
            )
            more = gather_generations(
                self.model,
                requests[: self.multimodality],
                extra,
                lambda count, total: advance(len(requests) * request.candidates + count, total),
            )
            for generation, samples in zip(generations, more, strict=False):
                generation.samples += samples.samples
        return generations


def run_benchmark(
    request: BenchmarkRequest, progress: ProgressCallback | None = None
) -> BenchmarkReport:
    """Evaluate a checkpoint on one benchmark task (see the module docstring)."""
    return Benchmark.prepare(request).run(progress)


def _token_corpus(request: BenchmarkRequest, model: GenerationModel) -> Path:
    """The token corpus to evaluate on: `--data`, else the one the checkpoint trained on."""
    if request.data is not None:
        return request.data
    recorded = model.recorded_path("data")
    if recorded is None or not recorded.exists():
        raise BenchmarkError(
            f"{model.directory}: cannot find the token corpus it was trained on; pass --data DIR"
        )
    return recorded


def _multimodality_prompts(task: TaskSpec, request: BenchmarkRequest, clips: int) -> int:
    """How many prompts get extra samples for MultiModality (none unless the task reports it)."""
    if "multimodality" not in task.metrics or request.multimodality_samples < 2:
        return 0
    return min(request.multimodality_prompts, clips)


def _sampling(request: BenchmarkRequest, seed: int, samples: int) -> SamplingOptions:
    return SamplingOptions(
        num_samples=samples,
        seed=seed,
        temperature=request.temperature,
        top_p=request.top_p,
        batch_size=request.batch_size,
        decoder=request.decoder,
        flow_steps=request.flow_steps,
        candidates=request.candidates,
    )


def _protocol(
    request: BenchmarkRequest,
    task: TaskSpec,
    data: BenchmarkData,
    model: GenerationModel,
    evaluators: EvaluatorSet,
    multimodality: int,
) -> dict[str, Any]:
    """Everything needed to reproduce the numbers."""
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(request).items()}
    return {
        "request": settings,
        "checkpoint": str(model.directory),
        "model_step": model.step,
        "token_corpus": str(data.token_corpus),
        "corpus": {"path": str(data.corpus), "identity": data.corpus_identity},
        "split": data.split,
        "clips": len(data.clips),
        "clips_available": data.available,
        "clip_ids": [clip.id for clip in data.clips],
        "seeds": [request.seed + r for r in range(request.replications)],
        "instruction": task.instructions[0],
        "conditions": list(task.required),
        "past_share": task.protocol.past,
        "future_share": task.protocol.future,
        "r_precision_batch": r_precision_batch(len(data.clips)),
        "diversity_pairs": DIVERSITY_PAIRS,
        "multimodality": {
            "prompts": multimodality,
            "samples": request.multimodality_samples if multimodality else 0,
            "pairs": MULTIMODALITY_PAIRS,
        },
        "evaluators": evaluators.describe(),
        "bertscore_model": bertscore_model_description() if "bertscore" in task.metrics else None,
    }
