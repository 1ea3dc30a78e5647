"""Generated samples on disk: `.npz` motion (with its audio), `.wav`, `.json` captions, `.bvh`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from vermo_cli.files import (
    check_output_file,
    write_atomically,
    write_json_atomically,
)
from vermo_cli.generate.session import Generation, Sample
from vermo_cli.messages.tasks import TaskSpec
from vermo_cli.motion.bvh_export import write_joints_bvh
from vermo_cli.motion.npz import save_motion_npz
from vermo_cli.motion.resample import CANONICAL_FPS

OUTPUT_SUFFIXES = (".npz", ".wav", ".json", ".bvh")


def output_stem(output: Path, index: int, count: int) -> Path:
    """`out` for `out.npz` (or `out`), `out_1`, `out_2`, ... when there are several samples."""
    output = Path(output)
    stem = output.with_suffix("") if output.suffix.lower() in OUTPUT_SUFFIXES else output
    return stem if count == 1 else stem.with_name(f"{stem.name}_{index + 1}")


def sample_paths(task: TaskSpec, stem: Path, headcount: int | None, bvh: bool) -> list[Path]:
    """The files one sample of `task` is written to under `stem`, in writing order: `.npz` (and
    with `bvh` a `.bvh` per person, left out while `headcount` is unknown) for a motion reply,
    `.wav` for audio, `.json` for a caption."""
    paths = []
    if "motion" in task.reply:
        paths.append(stem.with_suffix(".npz"))
        if bvh and headcount is not None:
            paths += _bvh_paths(stem, headcount)
    if "audio" in task.reply:
        paths.append(stem.with_suffix(".wav"))
    if "caption" in task.reply:
        paths.append(stem.with_suffix(".json"))
    return paths


def check_generation_outputs(
    task: TaskSpec, output: Path, count: int, headcount: int | None, bvh: bool, overwrite: bool
) -> list[Path]:
    """Refuse (`OutputError`), before any sampling, the files `count` samples would be written
    to when one cannot be written or exists without `overwrite`; returns them."""
    paths = [
        path
        for index in range(count)
        for path in sample_paths(task, output_stem(output, index, count), headcount, bvh)
    ]
    for path in paths:
        check_output_file(path, overwrite)
    return paths


def write_generation(generation: Generation, output: Path, bvh: bool, prompt: str) -> list[Path]:
    """Write every sample; returns the paths written, in order."""
    written: list[Path] = []
    count = len(generation.samples)
    for index, sample in enumerate(generation.samples):
        stem = output_stem(output, index, count)
        written += write_sample(generation, sample, stem, bvh, prompt)
    return written


def write_sample(
    generation: Generation, sample: Sample, stem: Path, bvh: bool, prompt: str
) -> list[Path]:
    """The files of one sample under `stem` (+ `.npz`, `.wav`, `.json`, `.bvh`)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    audio = _audio_for_motion(generation, sample)
    if sample.joints is not None:
        path = stem.with_suffix(".npz")
        extra = {}
        if audio is not None:
            extra = {"audio": audio[0].astype(np.float32), "audio_rate": np.int32(audio[1])}
        save_motion_npz(
            path,
            sample.joints,
            generation.joint_mask,
            fps=CANONICAL_FPS,
            tokens=sample.motion_codes,
            task=generation.task.name,
            prompt=prompt,
            **extra,
        )
        written.append(path)
        if bvh:
            written += _write_bvh(stem, sample.joints)
    if sample.audio is not None:
        path = stem.with_suffix(".wav")
        _write_wav(path, sample.audio, sample.audio_rate)
        written.append(path)
    if sample.caption is not None:
        path = stem.with_suffix(".json")
        record = {
            "task": generation.task.name,
            "caption": sample.caption,
            "prompt": prompt,
            "tokens": sample.reply_ids,
        }
        write_json_atomically(path, record)
        written.append(path)
    return written


def _audio_for_motion(generation: Generation, sample: Sample) -> tuple[np.ndarray, int] | None:
    """The audio that goes with a motion: the reply's, else the prompt's music or speech."""
    if sample.audio is not None:
        return sample.audio, sample.audio_rate
    return generation.prompt.audio


def _bvh_paths(stem: Path, people: int) -> list[Path]:
    """`stem.bvh` for one person, `stem_person1.bvh`, ... for several."""
    if people == 1:
        return [stem.with_suffix(".bvh")]
    return [stem.with_name(f"{stem.name}_person{agent + 1}.bvh") for agent in range(people)]


def _write_bvh(stem: Path, joints: np.ndarray) -> list[Path]:
    """One BVH per person (see `_bvh_paths`)."""
    paths = _bvh_paths(stem, joints.shape[0])
    for agent, path in enumerate(paths):
        write_joints_bvh(path, joints[agent], CANONICAL_FPS)
    return paths


def _write_wav(path: Path, waveform: np.ndarray, rate: int) -> None:
    """16-bit PCM wav, atomically."""
    audio = np.clip(waveform, -1.0, 1.0)
    write_atomically(
        path, lambda staging: soundfile.write(str(staging), audio, rate, subtype="PCM_16")
    )
