"""The `vermo eval` commands: one per installed benchmark task, and `fit-evaluator`; they parse
options, call `run_benchmark` / `fit_evaluator`, and print the table."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import TaskID, TextColumn
from rich.table import Table

from vermo_cli.console import console, error_console, user_errors
from vermo_cli.files import check_output_file, write_json_atomically
from vermo_cli.generate import DEFAULT_CHECKPOINT, DEFAULT_TEMPERATURE
from vermo_cli.messages.tasks import load_tasks
from vermo_cli.progress import progress_bar
from vermo_cli.train.run_layout import checkpoint_run, is_training_checkpoint

if TYPE_CHECKING:
    from vermo_cli.evaluate.benchmark import BenchmarkReport


eval_app = typer.Typer(
    help="Benchmarks: score a model on a task's held-out clips against the ground truth "
    "(`vermo eval t2m --split test`), and train the evaluator models they use.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def default_json_path(checkpoint: Path | None, task: str, split: str) -> Path:
    """Where the report goes by default: `CHECKPOINT/eval/TASK-SPLIT.json`, or for a training
    checkpoint `RUN/checkpoints/step<N>` (whose folder is deleted when a resumed run keeps
    newer ones) `RUN/eval/TASK-SPLIT-step<N>.json`."""
    safe_split = split.replace("/", "_").replace(":", "-")
    if checkpoint is not None and is_training_checkpoint(checkpoint):
        name = f"{task}-{safe_split}-{Path(checkpoint).name}.json"
        return checkpoint_run(checkpoint) / "eval" / name
    return (checkpoint or DEFAULT_CHECKPOINT) / "eval" / f"{task}-{safe_split}.json"


def write_report(report: BenchmarkReport, path: Path) -> None:
    """Write the report's strict JSON atomically (a temporary file renamed into place)."""
    write_json_atomically(path, report.to_json())


def report_table(report: BenchmarkReport) -> Table:
    """A row per metric, a column per system: mean ± 95 % interval over the replications."""
    replications = len(next(iter(report.rows["Real"].values())).values)
    table = Table(
        title=f"vermo eval {report.task}: {report.protocol['clips']} clips of "
        f"'{report.protocol['split']}', {replications} replication(s)",
        title_justify="left",
    )
    table.add_column("metric")
    for system in report.rows:
        table.add_column(system, justify="right")
    for metric in report.metrics:
        cells = []
        for row in report.rows.values():
            summary = row[metric]
            if math.isnan(summary.mean):
                cells.append("-")
            elif replications > 1:
                cells.append(f"{summary.mean:.4f} ±{summary.interval:.4f}")
            else:
                cells.append(f"{summary.mean:.4f}")
        table.add_row(metric, *cells)
    return table


def _benchmark_command(task_name: str, title: str, metrics: tuple[str, ...]) -> Callable:
    def command(
        split: Annotated[
            str, typer.Option(help="A split, a source (`aist`, `lafan1`) or a tag of the corpus.")
        ] = "test",
        checkpoint: Annotated[
            Path | None,
            typer.Option(
                help="Run or model directory, or a kept training step RUN/checkpoints/stepN "
                f"(default: {DEFAULT_CHECKPOINT})."
            ),
        ] = None,
        data: Annotated[
            Path | None,
            typer.Option(help="Token corpus (default: the one the checkpoint was trained on)."),
        ] = None,
        evaluator: Annotated[
            Path | None,
            typer.Option(
                help="Text-motion evaluator directory (default: runs/evaluator-text-motion, or "
                "runs/evaluator-text-motion-2 for two people)."
            ),
        ] = None,
        gesture_evaluator: Annotated[
            Path | None,
            typer.Option(help="Gesture evaluator directory (default: runs/evaluator-gesture)."),
        ] = None,
        replications: Annotated[
            int, typer.Option(min=1, help="Generate and score this many times (seeds seed+i).")
        ] = 20,
        limit: Annotated[
            int | None, typer.Option(min=1, help="Use only the first N clips (quick runs).")
        ] = None,
        seed: Annotated[int, typer.Option(help="Seed of the first replication.")] = 0,
        batch_size: Annotated[int, typer.Option(min=1, help="Replies sampled at once.")] = 16,
        temperature: Annotated[
            float, typer.Option(min=0.0, help="0 = greedy.")
        ] = DEFAULT_TEMPERATURE,
        top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.95,
        decoder: Annotated[str, typer.Option(help="Motion decoder: flow or vqvae.")] = "flow",
        flow_steps: Annotated[int | None, typer.Option(min=1)] = None,
        multimodality_prompts: Annotated[
            int, typer.Option(min=0, help="Prompts sampled several times for MultiModality.")
        ] = 100,
        multimodality_samples: Annotated[
            int, typer.Option(min=0, help="Samples per MultiModality prompt.")
        ] = 10,
        json_path: Annotated[
            Path | None,
            typer.Option("--json", help="Report JSON (default: CHECKPOINT/eval/TASK-SPLIT.json)."),
        ] = None,
        candidates: Annotated[
            int,
            typer.Option(
                min=1,
                help="pred/btwn: replies per clip; the one closest to the given motion at the "
                "seams is scored.",
            ),
        ] = 1,
        overwrite: Annotated[
            bool, typer.Option(help="Replace an existing report (refused without it).")
        ] = False,
        protocol: Annotated[
            str,
            typer.Option(
                help="btwn: `lafan1` scores the published LAFAN1 in-betweening benchmark "
                "(L2P at n = 5/15/30/45, zero-velocity and interpolation rows) on "
                "--train-bvh/--test-bvh instead of a corpus split; one sample per window."
            ),
        ] = "vermo",
        train_bvh: Annotated[
            Path | None,
            typer.Option(help="lafan1: training takes (folder or quoted pattern 'DIR/*1.bvh')."),
        ] = None,
        test_bvh: Annotated[
            Path | None,
            typer.Option(help="lafan1: test takes (folder or quoted pattern), e.g. subject 5."),
        ] = None,
        export: Annotated[
            Path | None,
            typer.Option(
                help="lafan1: write the model's frames per window to FILE.npz "
                "(TAKE_fSTART_nN -> [N, 22, 3] global positions, cm, the BVH's world frame)."
            ),
        ] = None,
    ) -> None:
        from vermo_cli.evaluate.benchmark import Benchmark, BenchmarkError, BenchmarkRequest
        from vermo_cli.ranks import join_process_group, world

        with user_errors():
            if decoder not in ("flow", "vqvae"):
                raise BenchmarkError(f"--decoder must be flow or vqvae, not {decoder!r}")
            if protocol not in ("vermo", "lafan1"):
                raise BenchmarkError(f"--protocol must be vermo or lafan1, not {protocol!r}")
            if protocol == "lafan1" or train_bvh or test_bvh or export:
                run_lafan1_command(
                    task_name,
                    protocol,
                    Lafan1Options(train_bvh, test_bvh, checkpoint, export, json_path, overwrite),
                    dict(
                        seed=seed,
                        temperature=temperature,
                        top_p=top_p,
                        batch_size=batch_size,
                        decoder=decoder,
                        flow_steps=flow_steps,
                        candidates=candidates,
                    ),
                    limit,
                )
                return
            request = BenchmarkRequest(
                task=task_name,
                split=split,
                checkpoint=checkpoint,
                data=data,
                text_motion_evaluator=evaluator,
                gesture_evaluator=gesture_evaluator,
                replications=replications,
                limit=limit,
                seed=seed,
                batch_size=batch_size,
                temperature=temperature,
                top_p=top_p,
                decoder=decoder,  # type: ignore[arg-type]
                flow_steps=flow_steps,
                multimodality_prompts=multimodality_prompts,
                multimodality_samples=multimodality_samples,
                candidates=candidates,
            )
            path = json_path or default_json_path(checkpoint, task_name, split)
            check_output_file(path, overwrite, "--json")
            join_process_group()
            benchmark = Benchmark.prepare(request)
            rank = world()[0]
            with progress_bar(
                TextColumn("replies"), console=error_console, disable=rank != 0
            ) as bar:
                progress_task = bar.add_task(f"eval {task_name}", total=benchmark.total_replies)

                def advance(done: int, total: int) -> None:
                    bar.update(progress_task, completed=done, total=total)

                report = benchmark.run(advance)
            if rank != 0:
                return
            write_report(report, path)
            console.print(report_table(report))
            for note in report.notes:
                console.print(f"note: {note}")
            for name, entry in report.protocol["evaluators"].items():
                console.print(f"evaluator {name}: {entry.get('summary', entry['path'])}")
            console.print(f"wrote {path} ({report.seconds:.0f} s)")

    command.__doc__ = (
        f"Benchmark {task_name} ({title[0].lower()}{title[1:]}): {', '.join(metrics)}. "
        "Prints Real, baseline and model rows (mean ± 95 % interval) and writes the JSON."
    )
    return command


@eval_app.command("fit-evaluator")
def fit_evaluator_command(
    data: Annotated[Path, typer.Option(help="Corpus from `vermo prepare` (its train split).")],
    kind: Annotated[
        str, typer.Option(help="text-motion (retrieval model) or gesture (autoencoder).")
    ] = "text-motion",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Evaluator directory (default: where `vermo eval` looks: "
            "runs/evaluator-text-motion, runs/evaluator-text-motion-2, runs/evaluator-gesture).",
        ),
    ] = None,
    recipe: Annotated[
        Path | None, typer.Option(help="recipes/evaluator-*.yaml (default: built-in settings).")
    ] = None,
    headcount: Annotated[
        int | None, typer.Option(min=1, max=2, help="text-motion: clips of 1 or 2 people.")
    ] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Override the recipe's steps.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=2)] = None,
    learning_rate: Annotated[float | None, typer.Option(min=0.0)] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing evaluator.")] = False,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY.SUB=VALUE",
            help="Override a key of --recipe, e.g. --set training.steps=30 (value read as YAML; "
            "repeatable; recorded in the evaluator's info).",
        ),
    ] = None,
) -> None:
    """Train an evaluator model on a corpus: the TMR-style text-motion retrieval model (for
    R-precision, FID, MM-Dist, Diversity, MultiModality) or the gesture autoencoder (for FGD).
    Example: `vermo eval fit-evaluator --data corpus/synthetic --kind text-motion`.
    """
    from vermo_cli.evaluate.evaluator_set import DEFAULT_GESTURE, DEFAULT_TEXT_MOTION
    from vermo_cli.evaluator_models.evaluator import load_evaluator
    from vermo_cli.evaluator_models.fit import fit_evaluator
    from vermo_cli.evaluator_models.store import EvaluatorError
    from vermo_cli.recipe_files import recipe_overrides

    with user_errors(), recipe_overrides(recipe, overrides):
        if kind not in ("text-motion", "gesture"):
            raise EvaluatorError(f"--kind must be text-motion or gesture, not {kind!r}")
        if output is None:
            output = DEFAULT_GESTURE if kind == "gesture" else DEFAULT_TEXT_MOTION[headcount or 1]
        # The bar appears with the first training step, so a mistake found while reading the
        # corpus is printed alone.
        bar = progress_bar(
            TextColumn("steps · loss {task.fields[loss]:.4f}"), console=error_console
        )
        progress_task: TaskID | None = None

        def advance(step: int, total: int, values: dict[str, float]) -> None:
            nonlocal progress_task
            if progress_task is None:
                bar.start()
                progress_task = bar.add_task(f"{kind} evaluator", total=total, loss=values["loss"])
            bar.update(progress_task, completed=step, total=total, loss=values["loss"])

        try:
            written = fit_evaluator(
                data,
                kind,  # type: ignore[arg-type]
                output,
                recipe=recipe,
                steps=steps,
                batch_size=batch_size,
                learning_rate=learning_rate,
                seed=seed,
                headcount=headcount,
                progress=advance,
                overwrite=overwrite,
            )
        finally:
            bar.stop()
        evaluator = load_evaluator(written)
        validation = evaluator.info.get("validation", {})
        scores = ", ".join(
            f"{name} {value:.3f}" for name, value in validation.items() if isinstance(value, float)
        )
        console.print(f"wrote {written}: {evaluator.summary}")
        if scores:
            console.print(f"validation: {scores}")


@dataclass(frozen=True)
class Lafan1Options:
    """The options of `vermo eval btwn --protocol lafan1` beyond sampling."""

    train_bvh: Path | None
    test_bvh: Path | None
    checkpoint: Path | None
    export: Path | None
    json_path: Path | None
    overwrite: bool


def run_lafan1_command(
    task_name: str,
    protocol: str,
    given: Lafan1Options,
    sampling: dict[str, Any],
    limit: int | None,
) -> None:
    """`vermo eval btwn --protocol lafan1`: check the options, score, print and write;
    `sampling` holds the `SamplingOptions` fields the command was given."""
    from vermo_cli.evaluate.benchmark import BenchmarkError
    from vermo_cli.evaluate.lafan1_benchmark import (
        Lafan1Request,
        load_windows,
        model_system,
        run_lafan1,
        write_exports,
    )
    from vermo_cli.generate.session import SamplingOptions

    if task_name != "btwn" or protocol != "lafan1":
        raise BenchmarkError(
            "--train-bvh, --test-bvh and --export belong to 'vermo eval btwn --protocol lafan1'"
        )
    if given.train_bvh is None or given.test_bvh is None:
        raise BenchmarkError("--protocol lafan1 needs --train-bvh DIR and --test-bvh DIR")
    checkpoint = given.checkpoint
    if checkpoint is None and DEFAULT_CHECKPOINT.exists():
        checkpoint = DEFAULT_CHECKPOINT
    if checkpoint is None and given.export is not None:
        raise BenchmarkError(
            f"--export writes a model's frames: pass --checkpoint RUN ({DEFAULT_CHECKPOINT} "
            "does not exist)"
        )
    path = given.json_path or (
        default_json_path(checkpoint, "btwn", "lafan1")
        if checkpoint is not None
        else Path("outputs") / "eval" / "btwn-lafan1.json"
    )
    check_output_file(path, given.overwrite, "--json")
    if given.export is not None:
        check_output_file(given.export, given.overwrite, "--export")
    options = SamplingOptions(**sampling)
    request = Lafan1Request(given.train_bvh, given.test_bvh, checkpoint, options, limit)
    # every mistake in the takes or the checkpoint surfaces before the bar
    windows = load_windows(request)
    model = model_system(request, windows[1]) if checkpoint is not None else None
    with progress_bar(
        TextColumn("windows"), console=error_console, disable=checkpoint is None
    ) as bar:
        progress_task = bar.add_task("eval btwn lafan1", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(progress_task, completed=done, total=total)

        report = run_lafan1(request, advance, windows, model)
    write_json_atomically(path, report.to_json())
    if given.export is not None:
        write_exports(given.export, report.exports)
    console.print(lafan1_table(report.to_json()))
    if checkpoint is None:
        console.print(
            f"note: no model row: {DEFAULT_CHECKPOINT} does not exist (pass --checkpoint RUN)"
        )
    if given.export is not None:
        console.print(f"wrote {given.export} ({len(report.exports)} transitions)")
    console.print(f"wrote {path} ({report.seconds:.0f} s)")


def lafan1_table(report: dict) -> Table:
    """A row per system (the published ones last, for reference), a column per n."""
    protocol = report["protocol"]
    table = Table(
        title=f"vermo eval btwn --protocol lafan1: L2P on {protocol['test_windows']['count']} "
        f"windows of {len(protocol['test_takes'])} test takes",
        title_justify="left",
    )
    table.add_column("system")
    names = [f"l2p@{n}" for n in protocol["transitions"]]
    for name in names:
        table.add_column(f"n = {name.split('@')[1]}", justify="right")
    for system, row in report["rows"].items():
        table.add_row(system, *(f"{row[name]:.3f}" for name in names))
    for system, row in report["published"].items():
        table.add_row(
            f"[dim]published (subject 5): {system}[/dim]",
            *(f"[dim]{row[name]:.2f}[/dim]" for name in names),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add `vermo eval` (a command per installed benchmark task) to `app`."""
    for task in load_tasks().values():
        if task.benchmark and task.metrics:
            eval_app.command(task.name)(_benchmark_command(task.name, task.title, task.metrics))
    app.add_typer(eval_app, name="eval")
