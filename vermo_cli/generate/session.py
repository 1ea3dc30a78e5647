"""A trained model ready to generate: the language model, its vocabulary, the FlowVQ tokenizer
and the audio codec, and the sampling loop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from transformers import LogitsProcessorList, PreTrainedModel
from transformers.utils import logging as transformers_logging

from vermo_cli.data.audio import load_audio
from vermo_cli.errors import VermoError
from vermo_cli.files import path_from_record
from vermo_cli.generate import DEFAULT_CHECKPOINT, DEFAULT_TEMPERATURE
from vermo_cli.generate.constraints import ReplyConstraint, ReplyGrammar
from vermo_cli.generate.inputs import MAX_SECONDS
from vermo_cli.generate.prompt import Prompt, PromptInputs, build_prompt
from vermo_cli.generate.stitching import seam_gap, stitch_given_motion
from vermo_cli.messages.message import Segment, parse_reply, prompt_ids
from vermo_cli.messages.tasks import TaskSpec, get_task
from vermo_cli.tokenizers.audio_codec.interface import AudioCodec, load_codec
from vermo_cli.tokenizers.flowvq.tokenizer import FlowVQTokenizer
from vermo_cli.tokenizers.vocabulary import EOS, Vocabulary
from vermo_cli.train.checkpoint_weights import check_training_checkpoint, checkpoint_model
from vermo_cli.train.run_layout import (
    INBETWEEN_INFO,
    MODEL_DIR,
    MODEL_RECORD,
    NO_CODEC,
    RUN_FILE,
    VOCABULARY_DIR,
    checkpoint_run,
    checkpoint_step,
    is_training_checkpoint,
)
from vermo_cli.weights import load_causal_lm

Decoder = Literal["flow", "vqvae"]
ProgressCallback = Callable[[int, int], None]


class GenerationError(VermoError):
    """A checkpoint cannot be used for generation, or a reply could not be produced."""


@dataclass(frozen=True)
class SamplingOptions:
    """How to sample: `num_samples` replies, `batch_size` at a time, seeded."""

    num_samples: int = 1
    seed: int = 0
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = 0.95
    batch_size: int = 8
    decoder: Decoder = "flow"
    flow_steps: int | None = None
    keep_given: bool = True
    """pred/btwn: the given motion kept exactly, the made part blended onto it (`stitching`);
    False returns the whole decoded code sequence."""
    candidates: int = 1
    """pred/btwn: replies sampled for each sample; the one whose decoded motion meets the
    given motion closest at the seams (`stitching.seam_gap`) is kept."""


@dataclass
class Sample:
    """One generated reply, decoded.

    `joints` `[agents, frames, 52, 3]` metres at 30 fps (the whole motion: given parts of
    pred/btwn included); `motion_codes` `[agents, steps]` of the reply; `audio` `[samples]` at
    `audio_rate` Hz; `caption` text.
    """

    segments: tuple[Segment, ...]
    reply_ids: list[int]
    joints: np.ndarray | None = None
    motion_codes: np.ndarray | None = None
    audio: np.ndarray | None = None
    audio_rate: int = 0
    caption: str | None = None


@dataclass
class Generation:
    """The result of one `generate` call."""

    task: TaskSpec
    prompt: Prompt
    samples: list[Sample]
    joint_mask: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


class GenerationModel:
    """Everything a checkpoint needs to generate (see `load`)."""

    def __init__(
        self,
        model: PreTrainedModel,
        vocabulary: Vocabulary,
        tokenizer: FlowVQTokenizer,
        codec: AudioCodec | None,
        directory: Path,
        record: dict | None = None,
        step: int | None = None,
        record_file: Path | None = None,
    ) -> None:
        self.model = model.eval()
        self.record = record or {}  # the checkpoint's vermo_run.json, when it has one
        self.record_file = record_file  # where that record is (its paths are relative to it)
        self.step = step  # the training step of the weights, when known
        self.vocabulary = vocabulary
        self.tokenizer = tokenizer
        self.codec = codec
        self.directory = directory
        self.compression = tokenizer.compression
        self.tokens_per_second = codec.tokens_per_second if codec else 40.0

    @classmethod
    def load(
        cls,
        checkpoint: Path | None = None,
        tokenizer: Path | None = None,
        codec: Path | None = None,
    ) -> GenerationModel:
        """Load a run directory (its `model/`), a model directory or a run's training checkpoint
        `RUN/checkpoints/step<N>` (its weights consolidated, see `checkpoint_weights`), with
        the FlowVQ tokenizer and codec its token corpus was made with (or the ones given),
        checking they fit the vocabulary."""
        resolved = resolve_checkpoint(checkpoint)
        model_dir, record = resolved.directory, resolved.record
        vocabulary = Vocabulary.load(resolved.vocabulary)
        tokenizer_dir = tokenizer or _recorded_path(resolved, "tokenizer_path", "--tokenizer")
        flowvq = FlowVQTokenizer.load(tokenizer_dir)
        audio_codec = None
        if vocabulary.built_for.audio != NO_CODEC:
            codec_dir = codec or _recorded_path(resolved, "codec_path", "--codec")
            audio_codec = load_codec(codec_dir)
        vocabulary.check_built_for(
            flowvq.identity, audio_codec.identity if audio_codec else NO_CODEC, str(model_dir)
        )
        transformers_logging.disable_progress_bar()
        parts = (model_dir, record, resolved.step, resolved.record_file)
        if resolved.training_checkpoint:
            return cls(checkpoint_model(model_dir), vocabulary, flowvq, audio_codec, *parts)
        if not any(model_dir.glob("*.safetensors")):
            # vermo exports safetensors; a pickled weights file is never read from a run
            raise GenerationError(
                f"{model_dir}: no loadable safetensors weights (a run's model is read from "
                "safetensors only)"
            )
        model = load_causal_lm(model_dir, use_safetensors=True, local_files_only=True)
        return cls(model, vocabulary, flowvq, audio_codec, *parts)

    def recorded_path(self, *keys: str) -> Path | None:
        """A path the checkpoint's `vermo_run.json` holds under `keys` (see
        `recorded_run_path`); None when it holds none."""
        return recorded_run_path(self.record, self.record_file, *keys)

    def encode_motion(self, joints: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """FlowVQ codes `[agents, steps]` of `[agents, frames, 52, 3]` joints."""
        return self.tokenizer.encode(joints, mask)

    def encode_audio(self, path: Path) -> tuple[np.ndarray, np.ndarray, int]:
        """Codec tokens of the first 12 s of an audio file, its waveform and rate."""
        if self.codec is None:
            raise GenerationError(f"{self.directory}: this model was trained without audio")
        waveform, rate = load_audio(path, self.codec.sample_rate)
        waveform = waveform[: int(MAX_SECONDS * rate)]
        return self.codec.encode(waveform, rate), waveform, rate

    def prepare(self, task_name: str, inputs: PromptInputs) -> tuple[TaskSpec, Prompt]:
        """The task and its prompt for `inputs` (inputs read and encoded); errors before any
        sampling starts."""
        task = get_task(task_name)
        prompt = build_prompt(task, inputs, self)
        if self.codec is None and any(rule.kind == "audio" for rule in prompt.rules):
            raise GenerationError(f"{self.directory}: this model was trained without audio")
        return task, prompt

    def generate(
        self,
        task: TaskSpec,
        prompt: Prompt,
        options: SamplingOptions,
        progress: ProgressCallback | None = None,
    ) -> Generation:
        """Sample `options.num_samples` replies to a prepared prompt and decode them."""
        return self.generate_many([(task, prompt)], options, progress)[0]

    def generate_many(
        self,
        requests: Sequence[tuple[TaskSpec, Prompt]],
        options: SamplingOptions,
        progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        """`options.num_samples` replies to each prepared prompt, decoded.

        Rows (each prompt repeated `num_samples` times) are sampled `options.batch_size` at a
        time; prompts of different lengths share a batch, left-padded, each row constrained by
        its own prompt's grammar. Batch `b` (rows `b * batch_size ...`) is seeded with
        `options.seed + b * batch_size`, so one prompt alone gives what `generate` gives.
        """
        rows = [
            (index, prompt_ids(prompt.message, self.vocabulary))
            for index, (_, prompt) in enumerate(requests)
            for _ in range(options.num_samples * self._candidates(prompt, options))
        ]
        grammars = [ReplyGrammar(prompt.rules, self.vocabulary) for _, prompt in requests]
        replies: list[list[int]] = []
        sampling_started = time.perf_counter()
        for first in range(0, len(rows), options.batch_size):
            batch = rows[first : first + options.batch_size]
            replies += self._sample(
                [ids for _, ids in batch],
                [grammars[index] for index, _ in batch],
                options,
                options.seed + first,
            )
            if progress:
                progress(len(replies), len(rows))
        decoding_started = time.perf_counter()
        samples: list[list[Sample]] = [[] for _ in requests]
        pending = []
        for (index, _), reply in zip(rows, replies, strict=True):
            sample, codes = self._decode(reply, requests[index][1])
            samples[index].append(sample)
            if codes is not None:
                pending.append((sample, codes))
        self._decode_motions(pending, options)
        for index, (_, prompt) in enumerate(requests):
            samples[index] = self._best_candidates(samples[index], prompt, options)
        if options.keep_given:
            for index, (_, prompt) in enumerate(requests):
                for sample in samples[index]:
                    self._keep_given_motion(sample, prompt)
        timings = {
            "sampling_s": decoding_started - sampling_started,
            "decoding_s": time.perf_counter() - decoding_started,
        }
        return [
            Generation(
                task=task,
                prompt=prompt,
                samples=samples[index],
                joint_mask=self.tokenizer.trained_joint_mask,
                timings=timings,
            )
            for index, (task, prompt) in enumerate(requests)
        ]

    @torch.no_grad()
    def _sample(
        self,
        prompts: list[list[int]],
        grammars: list[ReplyGrammar],
        options: SamplingOptions,
        seed: int,
    ) -> list[list[int]]:
        """One constrained reply per prompt (ids after the prompt, through `<|eos|>`)."""
        width = max(len(ids) for ids in prompts)
        pad = self.vocabulary.pad_id
        batch = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompts])
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts])
        constraint = ReplyConstraint(grammars, width)
        torch.manual_seed(seed)
        sample = options.temperature > 0
        output = self.model.generate(
            input_ids=batch,
            attention_mask=attention,
            max_new_tokens=max(grammar.max_new_tokens() for grammar in grammars),
            do_sample=sample,
            temperature=options.temperature if sample else None,
            top_p=options.top_p if sample else None,
            top_k=None,
            logits_processor=LogitsProcessorList([constraint]),
            eos_token_id=self.vocabulary.id_of(EOS),
            pad_token_id=pad,
            use_cache=True,
        )
        eos = self.vocabulary.id_of(EOS)
        replies = []
        for row in output[:, width:].tolist():
            if eos not in row:
                raise GenerationError("a reply did not finish within its length limit")
            replies.append(row[: row.index(eos) + 1])
        return replies

    def _decode(self, reply: list[int], prompt: Prompt) -> tuple[Sample, np.ndarray | None]:
        """A reply's segments as a sample with its audio and text decoded, and the whole motion's
        codes `[agents, steps]` (given parts included) still to decode."""
        segments = parse_reply(reply, self.vocabulary)
        sample = Sample(segments=segments, reply_ids=reply)
        whole = None
        for segment in segments:
            if segment.kind == "motion":
                codes = np.array(segment.agents, dtype=np.int64)
                sample.motion_codes = codes
                parts = [p for p in (prompt.before, codes, prompt.after) if p is not None]
                whole = np.concatenate(parts, axis=1)
            elif segment.kind == "audio" and self.codec is not None:
                sample.audio = self.codec.decode(np.array(segment.codes, dtype=np.int64))
                sample.audio_rate = self.codec.sample_rate
            elif segment.kind == "text":
                sample.caption = segment.text
        return sample, whole

    @staticmethod
    def _candidates(prompt: Prompt, options: SamplingOptions) -> int:
        """Replies sampled per sample of `prompt`: `options.candidates` where motion is given."""
        given = prompt.given_before is not None or prompt.given_after is not None
        return options.candidates if given else 1

    def _best_candidates(
        self, samples: list[Sample], prompt: Prompt, options: SamplingOptions
    ) -> list[Sample]:
        """Of each run of `candidates` samples, the one with the smallest `seam_gap`."""
        count = self._candidates(prompt, options)
        if count == 1:
            return samples
        return [
            min(samples[first : first + count], key=lambda s: self._seam_gap(s, prompt))
            for first in range(0, len(samples), count)
        ]

    def _after_start(self, sample: Sample, prompt: Prompt) -> int | None:
        """The frame of the decoded motion where the given future's codes begin."""
        if sample.joints is None or prompt.after is None or prompt.given_after is None:
            return None
        steps = sample.joints.shape[1] // self.compression  # the whole decoded motion's codes
        return (steps - prompt.after.shape[1]) * self.compression

    def _seam_gap(self, sample: Sample, prompt: Prompt) -> float:
        if sample.joints is None:
            return float("inf")
        after_start = self._after_start(sample, prompt)
        return seam_gap(sample.joints, prompt.given_before, prompt.given_after, after_start)

    def _keep_given_motion(self, sample: Sample, prompt: Prompt) -> None:
        """Put the prompt's given past/future joints back into the sample's decoded motion,
        the made frames blended to meet them (`stitching`)."""
        if sample.joints is None or (prompt.given_before is None and prompt.given_after is None):
            return
        sample.joints = stitch_given_motion(
            sample.joints,
            prompt.given_before,
            prompt.given_after,
            self._after_start(sample, prompt),
        )

    def _decode_motions(
        self, pending: list[tuple[Sample, np.ndarray]], options: SamplingOptions
    ) -> None:
        """Decode the motion codes of many samples, those of one length together (the flow
        decoder's Euler steps then run once for all of them, up to `batch_size` motions)."""
        by_length: dict[int, list[tuple[Sample, np.ndarray]]] = {}
        for sample, codes in pending:
            by_length.setdefault(codes.shape[1], []).append((sample, codes))
        for steps, group in by_length.items():
            for first in range(0, len(group), options.batch_size):
                chunk = group[first : first + options.batch_size]
                joints = self.tokenizer.decode(
                    np.concatenate([codes for _, codes in chunk], axis=0),
                    frames=steps * self.compression,
                    decoder=options.decoder,
                    flow_steps=options.flow_steps,
                    seed=options.seed,
                )
                offset = 0
                for sample, codes in chunk:
                    sample.joints = joints[offset : offset + codes.shape[0]]
                    offset += codes.shape[0]


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """Where the parts of a `--checkpoint` are."""

    directory: Path
    """The model directory, or the training checkpoint folder when `training_checkpoint`."""
    vocabulary: Path
    record: dict
    """The run's `vermo_run.json` (empty when there is none)."""
    step: int | None
    """The training step of the weights, when known."""
    training_checkpoint: bool = False
    record_file: Path | None = None
    """Where `record` was read from (the paths it holds are relative to it)."""


def resolve_checkpoint(checkpoint: Path | None) -> ResolvedCheckpoint:
    """The parts of a run (its `model/`), of a model directory given directly, or of a run's
    training checkpoint `RUN/checkpoints/step<N>`; one-line errors for what is missing."""
    if checkpoint is not None and is_training_checkpoint(checkpoint):
        return _resolve_training_checkpoint(Path(checkpoint))
    directory = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    if not directory.exists():
        if checkpoint is None:
            raise GenerationError(
                f"no trained model at {DEFAULT_CHECKPOINT}; train one (README, 'Train the "
                "model') or pass --checkpoint DIR"
            )
        raise GenerationError(f"{directory}: checkpoint not found")
    if (directory / INBETWEEN_INFO).is_file():
        raise GenerationError(
            f"{directory}: an in-betweening specialist, not a language model; score it with "
            f"`vermo eval btwn --protocol lafan1 --checkpoint {directory}`"
        )
    model_dir = directory / MODEL_DIR if (directory / MODEL_DIR).is_dir() else directory
    if not (model_dir / "config.json").is_file():
        raise GenerationError(
            f"{directory}: no finished model (expected {MODEL_DIR}/config.json; "
            "a run still training has only checkpoints: pass one, RUN/checkpoints/step<N>)"
        )
    record_path = next(
        (p / RUN_FILE for p in (model_dir, model_dir.parent) if (p / RUN_FILE).is_file()), None
    )
    record = json.loads(record_path.read_text()) if record_path else {}
    model_record = model_dir / MODEL_RECORD
    step = json.loads(model_record.read_text()).get("step") if model_record.is_file() else None
    return ResolvedCheckpoint(model_dir, model_dir, record, step, record_file=record_path)


def _resolve_training_checkpoint(tag: Path) -> ResolvedCheckpoint:
    """A training checkpoint's parts: its folder, and the run's vocabulary and record."""
    check_training_checkpoint(tag)
    run = checkpoint_run(tag)
    if not (run / VOCABULARY_DIR).is_dir():
        raise GenerationError(f"{tag}: its run {run} has no {VOCABULARY_DIR}/")
    record_path = run / RUN_FILE
    record_file = record_path if record_path.is_file() else None
    record = json.loads(record_path.read_text()) if record_file else {}
    return ResolvedCheckpoint(
        tag, run / VOCABULARY_DIR, record, checkpoint_step(tag), True, record_file
    )


def recorded_run_path(record: dict, record_file: Path | None, *keys: str) -> Path | None:
    """The path a run's `vermo_run.json` (`record`, read from `record_file`) holds under `keys`
    (`"data"`, or `"token_corpus", "tokenizer_path"`), a relative one read against the record's
    folder (`files.path_from_record`); None when it holds none."""
    value: Any = record
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not value or record_file is None:
        return None
    return path_from_record(value, record_file)


def _recorded_path(resolved: ResolvedCheckpoint, key: str, option: str) -> Path:
    """A tokenizer or codec path from the run record; error naming `option` if absent."""
    path = recorded_run_path(resolved.record, resolved.record_file, "token_corpus", key)
    if path is None or not path.exists():
        raise GenerationError(
            f"cannot find the {key.split('_')[0]} this model was trained with"
            f"{f' ({path})' if path else ''}; pass {option} DIR"
        )
    return path
