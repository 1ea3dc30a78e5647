"""`vermo quickstart`: from nothing to a rendered "a person waves" on the embedded synthetic
corpus, stage by stage, each stage skipped when a previous run finished it.

The stages write exactly what the README's step-by-step commands write (`corpus/synthetic`,
`runs/flowvq-tiny`, `runs/audio-codec-tiny`, `corpus/synthetic-tokens`, `runs/pretrain`,
`runs/sft`), so afterwards `vermo generate t2m "a person waves"` uses the model with no flags,
and the generated examples and the video land in `outputs/quickstart/`. A stage counts as
finished when its output is complete (a run's exported model, a tokenizer's final file); an
interrupted stage starts again from scratch, and `fresh` redoes every stage.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import datasets
import numpy as np
import soundfile

from vermo_cli.files import write_json_atomically

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
"""The shipped recipes (a source checkout; the README installs vermo editable)."""
WAVE_PROMPT = "a person waves"
WAVE_SECONDS = 4.0
SONG_SECONDS = 8.0
SONG_TEMPO = 120.0


class StageProgress(Protocol):
    """What a stage reports while it works (the CLI draws it as one bar)."""

    def start(self, total: int | None, unit: str) -> None:
        """The stage has `total` units of work (None: unknown)."""

    def update(self, done: int, detail: str = "") -> None:
        """`done` units are finished; `detail` is a short status such as the latest loss."""


@dataclass(frozen=True)
class QuickstartPaths:
    """Where every stage writes, relative to the working directory `root`, and the recipes
    and corpus size it uses (the shipped tiny recipes by default)."""

    root: Path = Path()
    clips: int = 1000
    flowvq_recipe: Path = RECIPES / "flowvq-tiny.yaml"
    codec_recipe: Path = RECIPES / "audio-codec-tiny.yaml"
    pretrain_recipe: Path = RECIPES / "vermo-tiny-pretrain.yaml"
    sft_recipe: Path = RECIPES / "vermo-tiny-sft.yaml"

    @property
    def corpus(self) -> Path:
        return self.root / "corpus" / "synthetic"

    @property
    def flowvq(self) -> Path:
        return self.root / "runs" / "flowvq-tiny"

    @property
    def codec(self) -> Path:
        return self.root / "runs" / "audio-codec-tiny"

    @property
    def tokens(self) -> Path:
        return self.root / "corpus" / "synthetic-tokens"

    @property
    def pretrain(self) -> Path:
        return self.root / "runs" / "pretrain"

    @property
    def sft(self) -> Path:
        return self.root / "runs" / "sft"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs" / "quickstart"

    @property
    def record(self) -> Path:
        return self.outputs / "quickstart.json"


@dataclass
class QuickstartReport:
    """What a quickstart run did: seconds per stage (None when skipped), and the results."""

    stage_seconds: dict[str, float | None] = field(default_factory=dict)
    video: Path | None = None
    wave: Path | None = None
    dance: Path | None = None
    caption: str | None = None
    caption_clip: str | None = None
    caption_truth: str | None = None
    codec_job: BackgroundCodecFit | None = None
    """The audio codec fit, when it runs beside the FlowVQ fit."""


@dataclass(frozen=True)
class Stage:
    """One step: its name, whether its output is complete, and how to make it."""

    name: str
    finished: Callable[[QuickstartPaths], bool]
    run: Callable[[QuickstartPaths, StageProgress, QuickstartReport], None]
    outputs: Callable[[QuickstartPaths], tuple[Path, ...]]


def _prepare(paths: QuickstartPaths, progress: StageProgress, _: QuickstartReport) -> None:
    from vermo_cli.data.prepare import SourceRequest, prepare_corpus
    from vermo_cli.data.sources import SourceOptions
    from vermo_cli.data.takes import TakeSettings

    class Adapter:
        done = 0

        def start(self, total_items: int) -> None:
            progress.start(total_items, "chunks")

        def item_done(self, clips_kept: int) -> None:
            self.done += 1
            progress.update(self.done)

    prepare_corpus(
        [SourceRequest("synthetic", ())],
        paths.corpus,
        SourceOptions(clips=paths.clips),
        TakeSettings(),
        workers=2,
        overwrite=True,
        progress=Adapter(),
    )


def _fit_flowvq(paths: QuickstartPaths, progress: StageProgress, report: QuickstartReport) -> None:
    """FlowVQ, with the audio codec fitting beside it (`BackgroundCodecFit`) on one thread
    each, when the codec is not fitted yet."""
    import torch

    from vermo_cli.tokenizers.flowvq.train import fit_flowvq

    totals: dict[int, int] = {}

    class Adapter:
        def stage_started(self, stage: int, total_steps: int, first_step: int) -> None:
            totals[stage] = total_steps
            progress.start(sum(totals.values()) if stage == 2 else total_steps * 2, "steps")

        def step_done(self, stage: int, step: int, loss: float) -> None:
            progress.update(step + (totals.get(1, 0) if stage == 2 else 0), f"loss {loss:.4f}")
            job = report.codec_job
            if job is not None and torch.get_num_threads() < threads and not job.running:
                torch.set_num_threads(threads)  # the codec is done: FlowVQ takes every core

        def validated(self, stage: int, step: int, loss: float) -> None:
            """Validation losses are shown by `vermo tokenize fit`, not here."""

    threads = torch.get_num_threads()
    if not _codec_complete(paths) and threads > 1:
        report.codec_job = BackgroundCodecFit(paths)
        torch.set_num_threads(max(threads - 1, 1))
    try:
        fit_flowvq(
            paths.corpus, paths.flowvq, paths.flowvq_recipe, overwrite=True, progress=Adapter()
        )
    except BaseException:
        if report.codec_job is not None:
            report.codec_job.stop()
        raise
    finally:
        torch.set_num_threads(threads)


def _train_codec(
    recipe_path: Path, corpus: Path, output: Path, advance: Callable[[int, int, float], None]
) -> None:
    """Fit the audio codec from scratch, calling `advance(step, steps, loss)` after each step."""
    from vermo_cli.tokenizers.audio_codec.recipe import load_audio_codec_recipe
    from vermo_cli.tokenizers.audio_codec.train import fit_audio_codec, remove_codec_run

    recipe = load_audio_codec_recipe(recipe_path)
    remove_codec_run(output)

    def report(step: int, steps: int, losses: dict[str, float]) -> None:
        advance(step, steps, losses["loss"])

    fit_audio_codec([corpus], recipe, output, progress=report)


def _show_step(progress: StageProgress, step: int, steps: int, loss: float) -> None:
    progress.start(steps, "steps")
    progress.update(step, f"loss {loss:.4f}")


def _codec_worker(recipe_path: Path, corpus: Path, output: Path, messages: Any) -> None:
    """Child process: fit the codec on one thread, reporting `("step", step, steps, loss)`,
    then `("done",)` or `("error", traceback)`."""
    import torch

    torch.set_num_threads(1)
    try:
        _train_codec(recipe_path, corpus, output, lambda *values: messages.put(("step", *values)))
        messages.put(("done",))
    except BaseException:
        messages.put(("error", traceback.format_exc()))


class BackgroundCodecFit:
    """The audio codec fit in a child process (one thread), so that on a 2-core machine it
    runs on the second core while FlowVQ trains on the first: small networks gain little from
    a second thread, so two single-threaded fits side by side finish sooner than one after
    the other."""

    def __init__(self, paths: QuickstartPaths) -> None:
        context = multiprocessing.get_context("spawn")
        self.messages = context.Queue()
        self.process = context.Process(
            target=_codec_worker,
            args=(paths.codec_recipe, paths.corpus, paths.codec, self.messages),
            daemon=True,
        )
        self.process.start()

    def follow(self, progress: StageProgress) -> None:
        """Show the fit's progress until it ends; `RuntimeError` with the child's traceback
        if it failed."""
        while True:
            try:
                message = self.messages.get(timeout=1.0)
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError(
                        f"the audio codec fit stopped (exit code {self.process.exitcode})"
                    ) from None
                continue
            if message[0] == "step":
                _show_step(progress, *message[1:])
            elif message[0] == "done":
                self.process.join()
                return
            else:
                self.process.join()
                raise RuntimeError(f"the audio codec fit failed:\n{message[1]}")

    @property
    def running(self) -> bool:
        """Whether the child process is still fitting."""
        return self.process.is_alive()

    def stop(self) -> None:
        """End the child if it still runs (the quickstart was interrupted)."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def _codec_complete(paths: QuickstartPaths) -> bool:
    return (paths.codec / "codec.json").is_file()


def _fit_codec(paths: QuickstartPaths, progress: StageProgress, report: QuickstartReport) -> None:
    if report.codec_job is not None:
        report.codec_job.follow(progress)
        report.codec_job = None
        return
    _train_codec(
        paths.codec_recipe,
        paths.corpus,
        paths.codec,
        lambda step, steps, loss: _show_step(progress, step, steps, loss),
    )


def _encode(paths: QuickstartPaths, progress: StageProgress, _: QuickstartReport) -> None:
    from vermo_cli.tokenizers.token_corpus import encode_corpus

    class Adapter:
        done = 0

        def start(self, total_clips: int) -> None:
            progress.start(total_clips, "clips")

        def advance(self, clips: int) -> None:
            self.done += clips
            progress.update(self.done)

    encode_corpus(paths.flowvq, paths.corpus, paths.tokens, True, Adapter(), paths.codec)


def _train(stage: str) -> Callable[[QuickstartPaths, StageProgress, QuickstartReport], None]:
    def run(paths: QuickstartPaths, progress: StageProgress, _: QuickstartReport) -> None:
        from vermo_cli.train.stages import StageRequest, prepare_stage, train_stage

        output = paths.pretrain if stage == "pretrain" else paths.sft
        previous = paths.pretrain if stage == "sft" else None
        recipe = paths.pretrain_recipe if stage == "pretrain" else paths.sft_recipe
        request = StageRequest(stage, paths.tokens, recipe, output, previous, overwrite=True)  # type: ignore[arg-type]
        prepared = prepare_stage(request)
        progress.start(None, "steps")

        def advance(
            step: int, total: int, loss: float, speed: float, validation: float | None
        ) -> None:
            progress.start(total, "steps")
            progress.update(step, f"loss {loss:.4f} · {speed:,.0f} tok/s")

        train_stage(prepared, advance)

    return run


def _generate(paths: QuickstartPaths, progress: StageProgress, report: QuickstartReport) -> None:
    """t2m "a person waves" (npz + BVH), m2d on a synthesized song, m2t on a test clip."""
    from vermo_plugins.sources.synthetic.music import SAMPLE_RATE, synthesize_music

    from vermo_cli.data.store import open_corpus
    from vermo_cli.generate.outputs import write_generation
    from vermo_cli.generate.prompt import PromptInputs
    from vermo_cli.generate.session import GenerationModel, SamplingOptions
    from vermo_cli.motion.npz import save_motion_npz

    out = paths.outputs
    out.mkdir(parents=True, exist_ok=True)
    progress.start(3, "replies")
    model = GenerationModel.load(paths.sft)
    options = SamplingOptions(seed=0)
    task, prompt = model.prepare("t2m", PromptInputs(caption=WAVE_PROMPT, duration=WAVE_SECONDS))
    write_generation(model.generate(task, prompt, options), out / "wave", True, WAVE_PROMPT)
    progress.update(1)

    beats = np.arange(0.0, SONG_SECONDS, 60.0 / SONG_TEMPO)
    song = synthesize_music("pop", SONG_TEMPO, beats, SONG_SECONDS, np.random.default_rng(0))
    soundfile.write(out / "song.wav", song, SAMPLE_RATE)
    task, prompt = model.prepare("m2d", PromptInputs(music=out / "song.wav"))
    write_generation(model.generate(task, prompt, options), out / "dance", False, "song.wav")
    progress.update(2)

    corpus = open_corpus(paths.corpus)
    rows = corpus.clips.with_format("numpy", columns=["motion", "joint_mask"])
    index = _caption_clip(corpus.clips)
    clip_file = out / "captioned-clip.npz"
    save_motion_npz(clip_file, rows[index]["motion"], rows[index]["joint_mask"], task="corpus")
    task, prompt = model.prepare("m2t", PromptInputs(motion=clip_file))
    generation = model.generate(task, prompt, options)
    write_generation(generation, out / "caption", False, str(clip_file))
    progress.update(3)
    report.wave = out / "wave.npz"
    report.dance = out / "dance.npz"
    report.caption = generation.samples[0].caption
    report.caption_clip = str(corpus.clips[index]["id"])
    report.caption_truth = str(corpus.clips[index]["captions"][0]["text"])


def _caption_clip(clips: datasets.Dataset) -> int:
    """Index of the clip to caption: the first single-person captioned clip of the test split
    (else of val, else of train)."""
    candidates = [
        (("test", "val", "train").index(split), index)
        for index, (split, people, captions) in enumerate(
            zip(clips["split"], clips["headcount"], clips["captions"], strict=True)
        )
        if people == 1 and captions
    ]
    return min(candidates)[1]


def _render(paths: QuickstartPaths, progress: StageProgress, report: QuickstartReport) -> None:
    from vermo_cli.render.job import RenderRequest, run_render

    class Adapter:
        done = 0

        def start(self, total_frames: int) -> None:
            progress.start(total_frames, "frames")

        def advance(self) -> None:
            self.done += 1
            progress.update(self.done)

    request = RenderRequest(
        source=paths.outputs / "wave.npz", output=paths.outputs / "wave", sheet=True, overwrite=True
    )
    run_render(request, Adapter())


STAGES: tuple[Stage, ...] = (
    Stage(
        "synthetic corpus",
        lambda p: (p.corpus / "vermo_corpus.json").is_file(),
        _prepare,
        lambda p: (p.corpus,),
    ),
    Stage(
        "motion tokenizer (FlowVQ)",
        lambda p: _flowvq_complete(p.flowvq),
        _fit_flowvq,
        lambda p: (p.flowvq,),
    ),
    Stage(
        "audio codec",
        _codec_complete,
        _fit_codec,
        lambda p: (p.codec,),
    ),
    Stage(
        "token corpus",
        lambda p: (p.tokens / "vermo_tokens.json").is_file(),
        _encode,
        lambda p: (p.tokens,),
    ),
    Stage(
        "pretrain",
        lambda p: (p.pretrain / "model" / "config.json").is_file(),
        _train("pretrain"),
        lambda p: (p.pretrain,),
    ),
    Stage(
        "sft",
        lambda p: (p.sft / "model" / "config.json").is_file(),
        _train("sft"),
        lambda p: (p.sft,),
    ),
    Stage(
        "generate",
        lambda p: all(
            (p.outputs / name).is_file() for name in ("wave.npz", "dance.npz", "caption.json")
        ),
        _generate,
        lambda p: (p.outputs / "wave.npz", p.outputs / "dance.npz", p.outputs / "caption.json"),
    ),
    Stage(
        "render",
        lambda p: (p.outputs / "wave.mp4").is_file(),
        _render,
        lambda p: (p.outputs / "wave.mp4", p.outputs / "wave.png"),
    ),
)
"""The quickstart, in order; each stage reads what the ones before it wrote."""


def _flowvq_complete(directory: Path) -> bool:
    """A FlowVQ directory with both stages trained."""
    info = directory / "tokenizer.json"
    if not info.is_file():
        return False
    stages = json.loads(info.read_text()).get("stages", {})
    return {"1", "2"} <= {str(stage) for stage in stages}


class QuickstartDisplay(Protocol):
    """How the CLI shows the run: a stage begins (or is skipped), and its progress."""

    def stage(self, index: int, total: int, name: str, skipped: bool) -> StageProgress:
        """Stage `index` of `total` begins (`skipped`: it was finished before)."""


def run_quickstart(
    display: QuickstartDisplay, paths: QuickstartPaths | None = None, fresh: bool = False
) -> QuickstartReport:
    """Run every unfinished stage (every stage with `fresh`), in order; a stage after one that
    ran runs too, since it reads its output."""
    paths = paths or QuickstartPaths()
    report = QuickstartReport()
    if fresh:
        for stage in STAGES:
            for output in stage.outputs(paths):
                if output.is_dir():
                    shutil.rmtree(output)
                elif output.exists():
                    output.unlink()
    redo = False
    for index, stage in enumerate(STAGES, start=1):
        skipped = not redo and stage.finished(paths)
        progress = display.stage(index, len(STAGES), stage.name, skipped)
        if skipped:
            report.stage_seconds[stage.name] = None
            continue
        redo = True  # everything after a redone stage depends on it
        began = time.perf_counter()
        try:
            stage.run(paths, progress, report)
        except BaseException:
            if report.codec_job is not None:
                report.codec_job.stop()
            raise
        report.stage_seconds[stage.name] = time.perf_counter() - began
    report.video = paths.outputs / "wave.mp4"
    report.wave = paths.outputs / "wave.npz"
    report.dance = paths.outputs / "dance.npz"
    if report.caption is None and (paths.outputs / "caption.json").is_file():
        report.caption = json.loads((paths.outputs / "caption.json").read_text()).get("caption")
    write_json_atomically(paths.record, {"stage_seconds": report.stage_seconds})
    return report
