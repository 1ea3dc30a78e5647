"""The `vermo` command line: parse options, call the library, print results; no work here."""

from __future__ import annotations

import math
import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    Progress,
    TaskID,
    TextColumn,
)
from rich.table import Table

from vermo_cli import __version__
from vermo_cli.console import configure_redirected_output, console, error_console, user_errors
from vermo_cli.errors import VermoError
from vermo_cli.evaluate.command import register as register_eval
from vermo_cli.files import check_output_file, write_json_atomically
from vermo_cli.generate import DEFAULT_TEMPERATURE, MAX_SAMPLES
from vermo_cli.progress import progress_bar
from vermo_cli.render.command import register as register_render
from vermo_cli.threads import apply_thread_default

app = typer.Typer(
    name="vermo",
    help="vermo: one motion language model for motion, text, music and speech.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"vermo {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """vermo: one motion language model for motion, text, music and speech."""
    apply_thread_default()


class _RichPrepareProgress:
    """Draws `prepare`'s progress: work items done, clips kept, ETA."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: int | None = None
        self.clips = 0

    def start(self, total_items: int) -> None:
        self.task = self.progress.add_task("preparing", total=total_items, clips=0)

    def item_done(self, clips_kept: int) -> None:
        self.clips += clips_kept
        if self.task is not None:
            self.progress.update(self.task, advance=1, clips=self.clips)


def _split_source_arguments(tokens: list[str], known: set[str]) -> list[tuple[str, list[Path]]]:
    """`bvh a b humanml3d c synthetic` -> [(bvh, [a, b]), (humanml3d, [c]), (synthetic, [])].

    A token starts a new group when it names an installed source and is not an existing path.
    """
    groups: list[tuple[str, list[Path]]] = []
    for token in tokens:
        if token in known and not Path(token).exists():
            groups.append((token, []))
        elif not groups:
            raise VermoError(
                f"'{token}' is not a source; start with one of: {', '.join(sorted(known))}"
            )
        else:
            groups[-1][1].append(Path(token))
    return groups


def _split_tags(values: list[str]) -> tuple[tuple[str, str], ...]:
    from vermo_cli.data.splits import SPLITS

    pairs = []
    for value in values:
        tag, _, split = value.rpartition("=")
        if not tag or split not in SPLITS:
            raise VermoError(
                f"--split-tag '{value}': expected TAG=SPLIT with SPLIT one of {', '.join(SPLITS)}"
            )
        pairs.append((tag, split))
    return tuple(pairs)


def _summary_table(report: object) -> Table:
    from vermo_cli.data.prepare import PrepareReport

    assert isinstance(report, PrepareReport)
    table = Table(title=f"corpus {report.output}", title_justify="left")
    table.add_column("source", no_wrap=True)
    table.add_column("split", no_wrap=True)
    for column in ("clips", "hours", "frames", "captioned", "music", "speech", "2 people"):
        table.add_column(column, justify="right", no_wrap=True)
    rows = sorted(report.summary.items())
    for (source, split), row in [*rows, (("all", ""), report.total)]:
        table.add_row(
            source,
            split,
            f"{row.clips:,}",
            f"{row.hours:.2f}",
            f"{row.frames:,}",
            f"{row.captioned:,}",
            f"{row.music:,}",
            f"{row.speech:,}",
            f"{row.two_people:,}",
            end_section=(source, split) == rows[-1][0],
        )
    return table


@app.command()
def prepare(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="One or more groups `SOURCE [PATH ...]`, e.g. `bvh data/lafan1 data/bandai "
            "humanml3d data/HumanML3D`; `synthetic` takes no path. Installed sources: bvh, "
            "humanml3d, smpl, interx, interhuman, beat2, synthetic (and any plugin package).",
            show_default=False,
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Corpus directory to write.")],
    joint_map: Annotated[
        Path | None,
        typer.Option(
            help="YAML joint map for a BVH skeleton vermo does not know.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    body_model: Annotated[
        Path | None,
        typer.Option(
            help="Your SMPL/SMPL-H/SMPL-X model directory (for smpl and beat2 npz).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    clips: Annotated[int, typer.Option(min=1, help="Clips the synthetic source generates.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic source.")] = 0,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (default: CPU count, at most 8).")
    ] = min(os.cpu_count() or 1, 8),
    max_seconds: Annotated[
        float, typer.Option(min=1.0, help="Longest clip; longer takes are cut into windows.")
    ] = 12.0,
    min_seconds: Annotated[float, typer.Option(min=0.1, help="Shorter clips are dropped.")] = 1.0,
    skip_bad_files: Annotated[
        bool, typer.Option(help="Record unreadable files in the QC report instead of stopping.")
    ] = False,
    split_tag: Annotated[
        list[str] | None,
        typer.Option(
            help="TAG=SPLIT: takes with this tag go to this split, e.g. "
            "`--split-tag subject:5=test` (repeatable). Others split by hash."
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing corpus at --output.")
    ] = False,
) -> None:
    """Turn raw datasets (or the built-in synthetic corpus) into one vermo corpus.

    The corpus is an Arrow dataset (`datasets.load_from_disk(DIR)` opens it) on the 52-joint
    SMPL-H skeleton at 30 fps in a canonical frame, with deterministic splits, normalisation
    statistics and a QC report in DIR/vermo_corpus.json. Example:
    `vermo prepare synthetic -o corpus/synthetic`.
    """
    from vermo_cli.data.prepare import SourceRequest, prepare_corpus
    from vermo_cli.data.sources import SourceOptions, available_sources
    from vermo_cli.data.takes import TakeSettings

    with user_errors():
        groups = _split_source_arguments(sources, set(available_sources()))
        requests = [SourceRequest(name, tuple(paths)) for name, paths in groups]
        options = SourceOptions(joint_map=joint_map, body_model=body_model, clips=clips, seed=seed)
        settings = TakeSettings(
            max_seconds=max_seconds,
            min_seconds=min_seconds,
            skip_bad_files=skip_bad_files,
            split_by_tag=_split_tags(split_tag or []),
        )
        with _bar(TextColumn("files · {task.fields[clips]:,} clips")) as bar:
            report = prepare_corpus(
                requests, output, options, settings, workers, overwrite, _RichPrepareProgress(bar)
            )
        console.print(_summary_table(report))
        kept = report.total.clips
        dropped = ", ".join(f"{count} {reason}" for reason, count in report.drop_reasons.items())
        console.print(
            f"{kept:,} clips from {report.takes:,} takes in {report.seconds:.1f} s"
            + (
                f"; QC dropped: {dropped} (details in {output}/vermo_corpus.json)"
                if dropped
                else "; QC dropped nothing"
            )
        )


tokenize_app = typer.Typer(
    help="Motion tokenizer (FlowVQ): fit, encode a corpus, decode codes, evaluate.",
    no_args_is_help=True,
)
app.add_typer(tokenize_app, name="tokenize")


class Modality(StrEnum):
    """What `tokenize fit` trains a tokenizer for."""

    motion = "motion"
    audio = "audio"


class _RichFitProgress:
    """One progress bar per training stage, with the latest training and validation loss."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[int, int] = {}

    def stage_started(self, stage: int, total_steps: int, first_step: int) -> None:
        name = "stage 1 autoencoder" if stage == 1 else "stage 2 flow decoder"
        self.tasks[stage] = self.progress.add_task(
            name, total=total_steps, completed=first_step, loss=float("nan"), val=float("nan")
        )

    def step_done(self, stage: int, step: int, loss: float) -> None:
        self.progress.update(self.tasks[stage], completed=step, loss=loss)

    def validated(self, stage: int, step: int, loss: float) -> None:
        self.progress.update(self.tasks[stage], val=loss)


class _RichCountProgress:
    """A progress bar over clips."""

    def __init__(self, progress: Progress, description: str) -> None:
        self.progress = progress
        self.description = description
        self.task: int | None = None

    def start(self, total_clips: int) -> None:
        self.task = self.progress.add_task(self.description, total=total_clips)

    def advance(self, clips: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=clips)


class _TaskFromFirstStep:
    """A progress task that appears with its first step, so that an error found before any
    step (a refused checkpoint, say) stays the command's only line."""

    def __init__(self, bar: Progress, description: str, **fields: Any) -> None:
        self.bar, self.description, self.fields = bar, description, fields
        self.task: TaskID | None = None

    def update(self, **changes: Any) -> None:
        """`Progress.update` of the task; the first call adds it with these values."""
        if self.task is not None:
            self.bar.update(self.task, **changes)
            return
        fields = {**self.fields, **changes}
        total, completed = fields.pop("total", None), fields.pop("completed", 0)
        self.task = self.bar.add_task(self.description, total=total, completed=completed, **fields)


def _bar(*extra: TextColumn) -> Progress:
    return progress_bar(*extra, console=error_console)


OverrideOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY.SUB=VALUE",
        help="Override a recipe key, e.g. --set training.steps=30 (value read as YAML; "
        "repeatable; recorded in the run's copy of the recipe).",
    ),
]


@tokenize_app.command("fit")
def tokenize_fit(
    data: Annotated[
        list[Path],
        typer.Option(
            help="Corpus from `vermo prepare`. With --modality audio: corpora (their train "
            "clips' audio), audio folders or files; repeat the option for several."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Tokenizer directory.")],
    recipe: Annotated[
        Path | None,
        typer.Option(
            help="Recipe YAML, e.g. recipes/flowvq-tiny.yaml or recipes/audio-codec-tiny.yaml "
            "(a motion run can resume without it)."
        ),
    ] = None,
    modality: Annotated[
        Modality, typer.Option(help="motion: FlowVQ tokenizer; audio: the built-in audio codec.")
    ] = Modality.motion,
    stage: Annotated[
        int | None, typer.Option(min=1, max=2, help="Motion: train only stage 1 or stage 2.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the latest checkpoint in --output.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --output.")] = False,
    overrides: OverrideOption = None,
) -> None:
    """Train a tokenizer: FlowVQ for motion (stage 1 FSQ autoencoder, then stage 2 flow
    decoder) or the built-in audio codec (`--modality audio`).

    Checkpoints go to OUTPUT, TensorBoard logs to OUTPUT/logs
    (`tensorboard --logdir OUTPUT/logs`). Interrupted runs continue exactly with `--resume`.
    """
    from vermo_cli.recipe_files import recipe_overrides

    with user_errors(), recipe_overrides(recipe, overrides):
        if modality is Modality.audio:
            _fit_audio_codec(data, output, recipe, resume, overwrite)
            return
        from vermo_cli.tokenizers.flowvq.train import fit_flowvq, fit_on_rank_zero

        if len(data) != 1:
            raise VermoError("a motion tokenizer trains on exactly one corpus (one --data)")
        stages = (stage,) if stage else (1, 2)
        columns = (TextColumn("loss {task.fields[loss]:.4f} · val {task.fields[val]:.4f}"),)
        with _bar(*columns) as bar:
            progress = _RichFitProgress(bar)
            info = fit_on_rank_zero(
                lambda: fit_flowvq(data[0], output, recipe, stages, resume, overwrite, progress),
                output,
            )
        losses = ", ".join(
            f"stage {number} validation loss {record['validation_loss']:.4f}"
            for number, record in sorted(info["stages"].items())
        )
        console.print(f"tokenizer {info['identity']} written to {output} ({losses})")


def _fit_audio_codec(
    data: list[Path], output: Path, recipe: Path | None, resume: bool, overwrite: bool
) -> None:
    """`tokenize fit --modality audio`: train the built-in codec with a progress bar."""
    from vermo_cli.tokenizers.audio_codec.interface import load_codec
    from vermo_cli.tokenizers.audio_codec.recipe import load_audio_codec_recipe
    from vermo_cli.tokenizers.audio_codec.train import check_codec_output, fit_audio_codec

    if recipe is None:
        raise VermoError("--recipe is required with --modality audio (recipes/audio-codec*.yaml)")
    settings = load_audio_codec_recipe(recipe)
    check_codec_output(output, resume, overwrite)
    columns = (TextColumn("loss {task.fields[loss]:.4f} · codes {task.fields[codes]:.0f}"),)
    with _bar(*columns) as bar:
        task = _TaskFromFirstStep(bar, "audio codec")

        def advance(step: int, steps: int, losses: dict[str, float]) -> None:
            task.update(
                total=steps, completed=step, loss=losses["loss"], codes=losses["codes_used"]
            )

        fit_audio_codec(
            data, settings, output, progress=advance, resume=resume, overwrite=overwrite
        )
    console.print(f"audio codec {load_codec(output).identity} written to {output}")


@tokenize_app.command("encode")
def tokenize_encode(
    tokenizer: Annotated[Path, typer.Option(help="Tokenizer directory from `tokenize fit`.")],
    data: Annotated[Path, typer.Option(help="Corpus to encode.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Token corpus directory.")],
    codec: Annotated[
        Path | None,
        typer.Option(help="Audio codec directory: also code each clip's music or speech."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --output.")] = False,
) -> None:
    """Encode a corpus's motion into FlowVQ codes, and its audio with --codec (an Arrow token
    corpus that records the tokenizer's and codec's identities)."""
    from vermo_cli.tokenizers.token_corpus import encode_corpus

    with user_errors():
        with _bar() as bar:
            sidecar = encode_corpus(
                tokenizer, data, output, overwrite, _RichCountProgress(bar, "encoding"), codec
            )
        audio = f", audio by codec {sidecar['codec']['identity']}" if sidecar["codec"] else ""
        console.print(
            f"{sidecar['clips']:,} clips -> {sidecar['tokens']:,} motion tokens in {output} "
            f"(tokenizer {sidecar['tokenizer']['identity']}{audio})"
        )


@tokenize_app.command("decode")
def tokenize_decode(
    tokenizer: Annotated[Path, typer.Option(help="Tokenizer directory.")],
    tokens: Annotated[
        Path,
        typer.Argument(
            help="A token corpus (with --clip), or a .npy / .txt file of codes "
            "[agents, steps] (one person per line in .txt).",
            show_default=False,
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Motion .npz to write.")],
    clip: Annotated[str | None, typer.Option(help="Clip id inside a token corpus.")] = None,
    decoder: Annotated[str, typer.Option(help="flow (default) or vqvae (stage 1).")] = "flow",
    flow_steps: Annotated[
        int | None, typer.Option(min=1, help="Flow sampling steps (recipe default: 28).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the flow decoder's noise.")] = 0,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing --output (refused without it).")
    ] = False,
) -> None:
    """Decode FlowVQ codes back to motion and save it as .npz (joints, fps, mask, tokens)."""
    from vermo_cli.tokenizers.flowvq.decode_file import decode_to_npz

    with user_errors():
        if decoder not in ("flow", "vqvae"):
            raise VermoError(f"--decoder must be flow or vqvae, got '{decoder}'")
        check_output_file(output, overwrite)
        shape = decode_to_npz(tokenizer, tokens, output, clip, decoder, flow_steps, seed)
        console.print(f"wrote {output}: {shape[0]} person(s), {shape[1]} frames at 30 fps")


@tokenize_app.command("eval")
def tokenize_eval(
    tokenizer: Annotated[Path, typer.Option(help="Tokenizer directory.")],
    data: Annotated[Path, typer.Option(help="Corpus to measure on.")],
    split: Annotated[
        str, typer.Option(help="A split (test), a source (lafan1) or a tag (subject:4).")
    ] = "test",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N clips.")] = None,
    flow_steps: Annotated[int | None, typer.Option(min=1, help="Flow sampling steps.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the flow decoder's noise.")] = 0,
    json_output: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON here.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing --json report (refused without it).")
    ] = False,
) -> None:
    """Reconstruction error (metres): MPJPE and PA-MPJPE (all/body/hand joints), root ADE/FDE,
    for the stage-1 decoder and the flow decoder side by side."""
    from vermo_cli.tokenizers.flowvq.evaluation import evaluate_tokenizer

    with user_errors():
        if json_output:
            check_output_file(json_output, overwrite, "--json")
        with _bar() as bar:
            result = evaluate_tokenizer(
                tokenizer,
                data,
                split,
                limit,
                flow_steps,
                seed,
                _RichCountProgress(bar, "reconstructing"),
            )
        table = Table(
            title=f"{result['tokenizer']['recipe']} on {data} ({split}, {result['clips']} clips)",
            title_justify="left",
        )
        table.add_column("decoder")
        keys = list(next(iter(result["decoders"].values())))
        for key in keys:
            table.add_column(key.replace("_", " "), justify="right")
        for name, metrics in result["decoders"].items():
            table.add_row(name, *(_four_places(metrics[key]) for key in keys))
        console.print(table)
        speed = result["encode_frames_per_second"]
        console.print(
            f"codes used: {result['codes_used']:,} of {result['codebook_size']:,}"
            + (f"; encoding {speed:,.0f} frames/s" if speed else "")
        )
        if json_output:
            write_json_atomically(json_output, result)


def _four_places(value: float) -> str:
    """A metric's table cell: four decimals, `-` where it is undefined (NaN)."""
    return "-" if math.isnan(value) else f"{value:.4f}"


DataOption = Annotated[
    Path,
    typer.Option(
        help="Token corpus from `vermo tokenize encode` (with --codec for audio); for an "
        "`inbetween` recipe, BVH takes (a folder or a quoted pattern 'DIR/*1.bvh')."
    ),
]
RecipeOption = Annotated[Path, typer.Option(help="Training recipe YAML (recipes/vermo-*.yaml).")]
RunOutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="Run directory (checkpoints, logs, model).")
]
ResumeOption = Annotated[
    bool, typer.Option(help="Continue exactly from the latest checkpoint in --output.")
]
OverwriteOption = Annotated[bool, typer.Option(help="Delete an existing run at --output first.")]
GpusOption = Annotated[
    int | None, typer.Option(min=1, help="GPUs per node: re-launch through DeepSpeed's launcher.")
]
NodesOption = Annotated[int | None, typer.Option(min=1, help="Nodes (needs --hostfile).")]
HostfileOption = Annotated[
    Path | None, typer.Option(help="DeepSpeed hostfile listing the nodes and their GPU slots.")
]
FromOption = Annotated[
    Path | None, typer.Option("--from", help="The run this stage starts from (its output dir).")
]


def _train(
    stage: str,
    data: Path,
    recipe: tuple[Path, list[str] | None],
    output: Path,
    resume: bool,
    overwrite: bool,
    launcher: tuple[int | None, int | None, Path | None],
    previous: Path | None = None,
    init: Path | None = None,
    task: str | None = None,
) -> None:
    """Shared body of `pretrain`, `sft` and `specialize`; `recipe` is the recipe's path and its
    `--set` overrides."""
    from vermo_cli.recipe_files import recipe_overrides
    from vermo_cli.train.launch import relaunch_if_requested

    with user_errors(), recipe_overrides(*recipe):
        code = relaunch_if_requested(sys.argv[1:], *launcher)
        if code is not None:
            raise typer.Exit(code)
        from vermo_cli.train.stages import StageRequest, prepare_stage, train_stage

        request = StageRequest(
            stage,  # type: ignore[arg-type]
            data,
            recipe[0],
            output,
            previous,
            init,
            task,
            resume,
            overwrite,
        )
        prepared = prepare_stage(request)
        columns = (
            TextColumn(
                "loss {task.fields[loss]:.4f} · val {task.fields[val]:.4f} · "
                "{task.fields[speed]:,.0f} tok/s"
            ),
        )
        with _bar(*columns) as bar:
            task = _TaskFromFirstStep(bar, stage, val=float("nan"))

            def advance(
                step: int, total: int, loss: float, speed: float, validation: float | None
            ) -> None:
                task.update(total=total, completed=step, loss=loss, speed=speed)
                if validation is not None:
                    task.update(val=validation)

            summary = train_stage(prepared, advance)
        counts = ", ".join(f"{name} {count:,}" for name, count in summary["tasks"].items())
        console.print(f"examples per epoch: {counts}")
        validation = summary["validation_losses"]
        falls = (
            f"validation loss {validation[0][1]:.4f} (step {validation[0][0]}) -> "
            f"{validation[-1][1]:.4f} (step {validation[-1][0]})"
            if validation
            else "no validation clips"
        )
        console.print(
            f"{stage}: {summary['steps']} steps, {falls}, "
            f"{summary['tokens_per_second']:,.0f} tokens/s; model in {summary['model']}"
        )
        console.print(_model_step_line(summary))


def _model_step_line(summary: dict[str, Any]) -> str:
    """Which step a finished run's model is, and the best validation step beside it."""
    step, best = summary["model_step"], summary["best_validation"]
    if best is None:
        return f"model: step {step}, the last (nothing validated)"
    if best["step"] == step:
        return f"model: step {step}, the best validation loss ({best['loss']:.4f})"
    return (
        f"model: step {step}, the last (export: {summary['export']}); best validation loss "
        f"{best['loss']:.4f} at step {best['step']}"
    )


@app.command()
def pretrain(
    data: DataOption,
    recipe: RecipeOption,
    output: RunOutputOption,
    init: Annotated[
        Path | None,
        typer.Option(help="Start from a local Hugging Face causal LM (its tokenizer too)."),
    ] = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    gpus: GpusOption = None,
    nodes: NodesOption = None,
    hostfile: HostfileOption = None,
    overrides: OverrideOption = None,
) -> None:
    """Stage 1: next-token loss on every token of all 14 tasks; builds the vocabulary."""
    launcher = (gpus, nodes, hostfile)
    _train("pretrain", data, (recipe, overrides), output, resume, overwrite, launcher, init=init)


@app.command()
def sft(
    data: DataOption,
    recipe: RecipeOption,
    output: RunOutputOption,
    previous: FromOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    gpus: GpusOption = None,
    nodes: NodesOption = None,
    hostfile: HostfileOption = None,
    overrides: OverrideOption = None,
) -> None:
    """Stage 2: generalist fine-tuning on the nine benchmark tasks, loss on reply tokens only."""
    launcher = (gpus, nodes, hostfile)
    _train("sft", data, (recipe, overrides), output, resume, overwrite, launcher, previous)


@app.command()
def specialize(
    task: Annotated[str, typer.Argument(help="The task to specialise in (see `vermo tasks`).")],
    data: DataOption,
    recipe: RecipeOption,
    output: RunOutputOption,
    previous: FromOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    gpus: GpusOption = None,
    nodes: NodesOption = None,
    hostfile: HostfileOption = None,
    overrides: OverrideOption = None,
) -> None:
    """Stage 3: fine-tune an sft model on one task, loss on reply tokens only; with a recipe of
    `kind: inbetween`, train the in-betweening specialist on BVH takes (--data DIR or pattern)."""
    with user_errors():
        from vermo_cli.recipe_files import read_yaml

        inbetween = read_yaml(recipe).get("kind") == "inbetween"
    if inbetween:
        launched = bool(gpus or nodes or hostfile)
        _specialize_inbetween(
            task, data, (recipe, overrides), output, previous, resume, overwrite, launched
        )
        return
    _train(
        "specialize",
        data,
        (recipe, overrides),
        output,
        resume,
        overwrite,
        (gpus, nodes, hostfile),
        previous,
        task=task,
    )


def _specialize_inbetween(
    task: str,
    data: Path,
    recipe: tuple[Path, list[str] | None],
    output: Path,
    previous: Path | None,
    resume: bool,
    overwrite: bool,
    launched: bool,
) -> None:
    """`vermo specialize btwn` with an `inbetween` recipe (its path and `--set` overrides):
    train, then print the validation."""
    from vermo_cli.recipe_files import recipe_overrides

    with user_errors(), recipe_overrides(*recipe):
        from vermo_cli.inbetween.fit import (
            InbetweenRequest,
            check_command_options,
            check_inbetween_request,
            fit_inbetween,
        )

        check_command_options(task, previous, resume, launched)
        request = InbetweenRequest(data, recipe[0], output, overwrite)
        check_inbetween_request(request)
        columns = (TextColumn("loss {task.fields[loss]:.3f} · val L2P {task.fields[val]:.3f}"),)
        with _bar(*columns) as bar:
            progress = _TaskFromFirstStep(bar, "specialize btwn", val=float("nan"))

            def advance(step: int, total: int, loss: float, validation: float | None) -> None:
                progress.update(total=total, completed=step, loss=loss)
                if validation is not None:
                    progress.update(val=validation)

            info = fit_inbetween(request, advance)
        scores = info["validation"]
        table = Table(
            title=f"held-out L2P (last {info['recipe']['training']['validation_fraction']:.0%} "
            f"of each take, {info['validation_windows']} windows), step {info['step']}",
            title_justify="left",
        )
        table.add_column("system")
        for transition in scores["per_transition"]:
            table.add_column(f"n = {transition}", justify="right")
        table.add_row("interpolation", *(f"{v:.3f}" for v in scores["interpolation"].values()))
        table.add_row("specialist", *(f"{v:.3f}" for v in scores["per_transition"].values()))
        console.print(table)
        console.print(f"wrote {output} ({info['seconds'] / 60:.1f} min)")


class DecoderChoice(StrEnum):
    """Which FlowVQ decoder turns generated codes into motion."""

    flow = "flow"
    vqvae = "vqvae"


@app.command()
def generate(
    task: Annotated[str, typer.Argument(help="Task to run, e.g. t2m, m2d, m2t (`vermo tasks`).")],
    text: Annotated[
        str | None, typer.Argument(help="Caption / prompt text (t2m, mt2m; a caption elsewhere).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output path stem (default: outputs/TASK)."),
    ] = None,
    music: Annotated[
        Path | None, typer.Option(help="Music file (wav, ogg, mp3; any rate).")
    ] = None,
    speech: Annotated[Path | None, typer.Option(help="Speech file (wav, ogg, mp3).")] = None,
    motion: Annotated[Path | None, typer.Option(help="Motion to describe (.npz or .bvh).")] = None,
    past: Annotated[Path | None, typer.Option(help="Motion before the reply (pred, btwn).")] = None,
    future: Annotated[Path | None, typer.Option(help="Motion after the reply (btwn).")] = None,
    headcount: Annotated[int | None, typer.Option(min=1, max=2, help="People.")] = None,
    duration: Annotated[float | None, typer.Option(help="Seconds of generated motion.")] = None,
    genre: Annotated[str | None, typer.Option(help="Music genre, e.g. hiphop.")] = None,
    caption: Annotated[str | None, typer.Option(help="Caption condition (same as TEXT).")] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="Run or model directory, or a kept training step RUN/checkpoints/stepN "
            "(default: runs/sft)."
        ),
    ] = None,
    tokenizer: Annotated[
        Path | None, typer.Option(help="FlowVQ tokenizer (default: the one it was trained with).")
    ] = None,
    codec: Annotated[
        Path | None, typer.Option(help="Audio codec (default: the one it was trained with).")
    ] = None,
    num_samples: Annotated[
        int, typer.Option(help=f"Replies to sample (1 to {MAX_SAMPLES:,}).")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 = greedy.")] = DEFAULT_TEMPERATURE,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0, help="Nucleus sampling mass.")] = 0.95,
    batch_size: Annotated[int, typer.Option(min=1, help="Samples per forward pass.")] = 8,
    decoder: Annotated[
        DecoderChoice, typer.Option(help="flow (FlowVQ stage 2) or vqvae (stage 1).")
    ] = DecoderChoice.flow,
    flow_steps: Annotated[int | None, typer.Option(min=1, help="Flow sampling steps.")] = None,
    keep_given: Annotated[
        bool,
        typer.Option(
            help="pred/btwn: keep the given motion exactly and blend the made frames onto it "
            "(--no-keep-given: the whole decoded code sequence)."
        ),
    ] = True,
    candidates: Annotated[
        int,
        typer.Option(
            min=1,
            help="pred/btwn: sample this many replies per sample and keep the one that meets "
            "the given motion closest at the seams.",
        ),
    ] = 1,
    bvh: Annotated[bool, typer.Option("--bvh", help="Also write BVH (one per person).")] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace existing output files (refused without it).")
    ] = False,
) -> None:
    """Generate with a trained model: motion (.npz), audio (.wav) or a caption (stdout, .json).

    Examples: `vermo generate t2m "a person waves"`, `vermo generate m2d --music song.ogg`,
    `vermo generate m2t --motion walk.bvh`, `vermo generate btwn --past a.npz --future b.npz`.
    """
    from vermo_cli.generate.outputs import check_generation_outputs, write_generation
    from vermo_cli.generate.prompt import (
        PromptInputs,
        check_candidates,
        check_inputs,
        check_num_samples,
    )
    from vermo_cli.generate.session import GenerationModel, SamplingOptions
    from vermo_cli.messages.tasks import get_task

    with user_errors():
        if text is not None and caption is not None:
            raise VermoError("give the caption once: as TEXT or as --caption")
        inputs = PromptInputs(
            caption=text if text is not None else caption,
            duration=duration,
            headcount=headcount,
            genre=genre,
            motion=motion,
            past=past,
            future=future,
            music=music,
            speech=speech,
        )
        options = SamplingOptions(
            num_samples,
            seed,
            temperature,
            top_p,
            batch_size,
            decoder.value,
            flow_steps,
            keep_given,
            candidates,
        )
        task_spec = get_task(task)
        check_inputs(task_spec, inputs)
        check_candidates(task_spec, candidates)
        check_num_samples(num_samples)
        target = output or Path("outputs") / task
        # Before loading the model; the BVH names need the headcount, known once inputs are read.
        check_generation_outputs(task_spec, target, num_samples, headcount, bvh, overwrite)
        loading = time.perf_counter()
        model = GenerationModel.load(checkpoint, tokenizer, codec)
        loaded = time.perf_counter() - loading
        spec, prompt_message = model.prepare(task, inputs)
        check_generation_outputs(
            spec, target, num_samples, prompt_message.headcount, bvh, overwrite
        )
        with _bar() as bar:
            sampling = bar.add_task(f"generating {task}", total=num_samples)
            result = model.generate(
                spec,
                prompt_message,
                options,
                lambda done, total: bar.update(sampling, completed=done, total=total),
            )
        prompt = inputs.caption or ""
        paths = write_generation(result, target, bvh, prompt)
        for sample in result.samples:
            if sample.caption is not None:
                console.print(sample.caption)
        for path in paths:
            console.print(f"wrote {path}")
        timings = result.timings
        error_console.print(
            f"model load {loaded:.1f} s, sampling {timings['sampling_s']:.1f} s, "
            f"decoding {timings['decoding_s']:.1f} s"
        )


@app.command("tasks")
def list_tasks() -> None:
    """List the installed task plugins: conditions, reply, whether a benchmark, metrics."""
    from vermo_cli.messages.tasks import load_tasks

    with user_errors():
        table = Table(title="Installed tasks (entry points `vermo.tasks`)", title_justify="left")
        for column in ("task", "instruction", "required", "optional", "reply", "stage", "metrics"):
            table.add_column(column)
        for task in load_tasks().values():
            table.add_row(
                task.name,
                task.instructions[0],
                " + ".join(task.required) or "-",
                " + ".join(task.optional) or "-",
                " + ".join(task.reply),
                "benchmark" if task.benchmark else "pretrain",
                ", ".join(task.metrics) or "-",
            )
        console.print(table)


register_render(app)
register_eval(app)


class _RichQuickstartDisplay:
    """One progress display for the whole quickstart: a line per stage, the current one with
    its bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.current: _RichStageBar | None = None

    def stage(self, index: int, total: int, name: str, skipped: bool) -> _RichStageBar:
        if self.current is not None:  # stages run one after the other: the last one is done
            self.current.finish()
        label = f"{index}/{total} {name}"
        if skipped:
            self.progress.add_task(f"{label} (done before)", total=1, completed=1, detail="")
        self.current = _RichStageBar(self.progress, label)
        return self.current


class _RichStageBar:
    """The bar of one quickstart stage."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.progress = progress
        self.label = label
        self.task: int | None = None
        self.total: int | None = None
        self.done = 0

    def start(self, total: int | None, unit: str) -> None:
        self.total = total
        if self.task is None:
            self.task = self.progress.add_task(self.label, total=total, detail="")
        else:
            self.progress.update(self.task, total=total)

    def update(self, done: int, detail: str = "") -> None:
        self.done = done
        if self.task is not None:
            self.progress.update(self.task, completed=done, detail=detail)

    def finish(self) -> None:
        """The stage has ended: its bar shows all of its work done (a log stops reporting it)."""
        if self.task is not None:
            whole = self.total if self.total is not None else max(self.done, 1)
            self.progress.update(self.task, total=whole, completed=whole)


@app.command()
def quickstart(
    fresh: Annotated[bool, typer.Option(help="Redo every stage, even finished ones.")] = False,
) -> None:
    """From nothing to a rendered "a person waves": prepare the synthetic corpus, fit the
    FlowVQ and audio tokenizers, pretrain and fine-tune the tiny model, generate (t2m, m2d,
    m2t) and render the wave to mp4. Finished stages are skipped when run again. Afterwards
    `vermo generate t2m "a person waves"` uses this model.
    """
    from vermo_cli.quickstart import WAVE_PROMPT, run_quickstart

    with user_errors():
        with _bar(TextColumn("{task.fields[detail]}")) as bar:
            report = run_quickstart(_RichQuickstartDisplay(bar), fresh=fresh)
        table = Table(title="vermo quickstart", title_justify="left")
        table.add_column("stage")
        table.add_column("time", justify="right")
        for name, seconds in report.stage_seconds.items():
            table.add_row(name, "done before" if seconds is None else f"{seconds:.0f} s")
        console.print(table)
        if report.caption is not None:
            console.print(f'm2t caption of a test clip: "{report.caption}"')
        console.print(f"motion of '{WAVE_PROMPT}': {report.wave} (and .bvh)")
        console.print(f"dance to a synthesized song: {report.dance}")
        console.print(f"video: {report.video}")


def main() -> None:
    """Console-script entry point."""
    configure_redirected_output()
    app(prog_name="vermo")


if __name__ == "__main__":
    sys.exit(main())
