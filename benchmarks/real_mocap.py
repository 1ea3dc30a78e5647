"""Benchmark: vermo's whole real-data pipeline on the shared motion capture, one command a stage.

    .venv/bin/python benchmarks/real_mocap.py --workdir runs/real-mocap
    .venv/bin/python benchmarks/real_mocap.py --workdir runs/real-mocap-quick --quick

Runs the documented `vermo` commands as subprocesses on the BVH folders of `--shared` (default
../shared/data: LAFAN1 subjects 1-4, Bandai Namco 1 and 2, CMU, Xia; without them it stops with
a one-line error):

1. `vermo prepare bvh`: one corpus whose test split is every Bandai take in five held-out styles
   (those of benchmarks/evaluator_retrieval.py), whose val split is LAFAN1 subject 4, and whose
   train split is every other take (named by a tag of its dataset, so that no take lands in test
   or val by the hash split).
2. `vermo tokenize fit` (recipes/mocap-flowvq.yaml), then `vermo tokenize eval --split subject:4`:
   reconstruction of the unseen subject's clips, body MPJPE, PA-MPJPE and root FDE in metres,
   beside the paper's FlowVQ MPJPE (0.059 m).
3. `vermo tokenize encode`, `vermo pretrain` (recipes/mocap-pretrain.yaml) and `vermo sft`
   (recipes/mocap-sft.yaml, which exports its last step).
4. `vermo eval fit-evaluator` (text-motion, on the corpus's train split), then `vermo eval t2m`
   and `vermo eval m2t` of the sft model on the test split: t2m R-precision top-3 of Real and of
   the model (target: the model at least 0.7 of Real), m2t BLEU@4 of the most frequent caption
   and of the model; 5 replications, no MultiModality samples.
5. `vermo specialize btwn` (recipes/mocap-btwn.yaml, LAFAN1 subjects 1-3), then
   `vermo eval btwn --protocol lafan1` with subject 4 as the test takes: L2P at n = 5/15/30/45 of
   interpolation, zero velocity and the specialist, and the specialist's L2P over interpolation's
   at n = 30 (target: below 1; goal: at most 0.55).

A stage whose output already exists is skipped (so an interrupted run continues where it
stopped), unless `--overwrite` (needed after a recipe changes: outputs are not compared with
recipes); a stage reruns when a stage whose output it reads has run. A stage that fails prints
its log's last lines; the stages that need it do not run, the others do, and the script exits
1 after the table. Each command's output goes to WORKDIR/logs/STAGE.log. Prints a line per
stage with its wall time, then one table, also written to WORKDIR/real_mocap.json with every
stage's command and seconds (as recorded when it ran) and their total.

`--quick` is a smoke test of a few minutes: a smaller corpus (Bandai, CMU, Xia and two LAFAN1
takes), copies of the recipes with a few steps in WORKDIR/quick-recipes, fewer clips, windows
and replications; its table says QUICK.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from vermo_cli.files import json_text

ROOT = Path(__file__).resolve().parents[1]
RECIPES = Path(os.path.relpath(ROOT / "recipes"))
VERMO = (sys.executable, "-m", "vermo_cli.cli")
"""How the stages call vermo (the package has no `__main__`; `vermo_cli.cli` runs as a script)."""

BVH_FOLDERS = ("lafan1/bvh", "bandai", "cmu", "xia")
HELD_OUT_STYLES = ("active", "feminine", "sad", "tired", "happy")
VALIDATION_SUBJECT = "subject:4"
LAFAN1_TRAIN = "lafan1/bvh/*subject[123].bvh"
LAFAN1_TEST = "lafan1/bvh/*subject4.bvh"
QUICK_LAFAN1_TAKES = ("walk4_subject1.bvh", "ground1_subject4.bvh")
PAPER_FLOWVQ_MPJPE = 0.059
"""The paper's FlowVQ reconstruction MPJPE, metres (trained on MotionHub, on GPUs)."""
MPJPE_TARGET, FDE_TARGET = 0.15, 0.3
"""The tokenizer's targets on the unseen subject: body MPJPE and root FDE, metres."""
T2M_SHARE_OF_REAL = 0.7
BTWN_GOAL = 0.55
REPLICATIONS = 5
"""Replications of `vermo eval t2m` and `m2t` in a full run."""

QUICK_RECIPE_CHANGES: dict[str, dict[str, dict[str, int]]] = {
    "mocap-flowvq.yaml": {
        "stage1": {"steps": 40, "warmup_steps": 5, "checkpoint_every": 40, "validate_every": 40},
        "stage2": {"steps": 10, "warmup_steps": 2, "checkpoint_every": 10, "validate_every": 10},
    },
    "mocap-pretrain.yaml": {
        "training": {"steps": 10, "warmup_steps": 2, "validate_every": 10, "checkpoint_every": 10}
    },
    "mocap-sft.yaml": {
        "training": {"steps": 60, "warmup_steps": 2, "validate_every": 30, "checkpoint_every": 30}
    },
    "mocap-btwn.yaml": {"training": {"steps": 20, "warmup_steps": 5, "validate_every": 10}},
}
"""What `--quick` changes in each recipe (nested keys), so that every stage takes seconds."""


@dataclass(frozen=True)
class Stage:
    """One `vermo` command of the pipeline: the arguments after `vermo`, the JSON file that
    exists (holding `done_key`, dotted, when given) once the command has finished, and the
    stages whose outputs it reads."""

    name: str
    arguments: tuple[str, ...]
    done_file: Path
    done_key: str | None = None
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """One row of the result table: `value` is one number, one per transition length for L2P,
    or None when the stage that measures it failed; `interval` the 95 % interval over
    replications; `met` "yes", "no", "goal" (btwn's goal met too) or "" (no target)."""

    stage: str
    measure: str
    value: float | list[float] | None
    reference: str = ""
    met: str = ""
    interval: float | None = None


def missing_shared_folders(shared: Path) -> list[str]:
    """The BVH folders of `BVH_FOLDERS` that `shared` lacks."""
    return [folder for folder in BVH_FOLDERS if not (shared / folder).is_dir()]


def first_word_tags(folder: Path, kind: str) -> set[str]:
    """`KIND:WORD` for the first `_`-separated word of the name of every BVH file under
    `folder` (the tag vermo's BVH source gives Bandai, CMU and Xia takes)."""
    return {f"{kind}:{path.stem.split('_')[0]}" for path in folder.rglob("*.bvh")}


def split_tags(shared: Path) -> list[str]:
    """`--split-tag TAG=SPLIT` values: the held-out Bandai styles to test, LAFAN1 subject 4 to
    val, then every other take to train by a tag the BVH source gives it from its file name
    (Bandai `subset:dataset-N`, LAFAN1 and CMU `subject:N`, Xia `style:NAME`). The first tag
    that matches decides; without the train tags the hash split would put about 5 % of the
    other takes in test and in val."""
    tags = [f"style:{style}=test" for style in HELD_OUT_STYLES]
    tags.append(f"{VALIDATION_SUBJECT}=val")
    training = first_word_tags(shared / "bandai", "subset")
    training |= first_word_tags(shared / "cmu", "subject")
    training |= first_word_tags(shared / "xia", "style")
    for path in (shared / "lafan1" / "bvh").rglob("*.bvh"):
        match = re.search(r"_subject(\d+)$", path.stem)
        if match:
            training.add(f"subject:{match.group(1)}")
    training.discard(VALIDATION_SUBJECT)
    return tags + [f"{tag}=train" for tag in sorted(training)]


def quick_recipe(name: str, folder: Path) -> Path:
    """A copy of recipes/NAME in `folder` with `QUICK_RECIPE_CHANGES[name]` applied and
    `-quick` added to its name; its path."""
    recipe = yaml.safe_load((RECIPES / name).read_text())
    for section, changes in QUICK_RECIPE_CHANGES[name].items():
        recipe[section].update(changes)
    recipe["name"] = f"{recipe['name']}-quick"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    header = f"# benchmarks/real_mocap.py --quick: recipes/{name} with a few steps\n"
    path.write_text(header + yaml.safe_dump(recipe, sort_keys=False))
    return path


def arguments(*parts: str | Path | Sequence[str | Path]) -> tuple[str, ...]:
    """Command-line arguments from words, paths and lists of them, flattened."""
    flat: list[str] = []
    for part in parts:
        flat += [str(part)] if isinstance(part, str | Path) else [str(word) for word in part]
    return tuple(flat)


def pipeline(shared: Path, workdir: Path, quick: bool) -> list[Stage]:
    """The stages in order, with the options of a full run or of `--quick`."""
    recipes = {name: RECIPES / name for name in QUICK_RECIPE_CHANGES}
    if quick:
        recipes = {name: quick_recipe(name, workdir / "quick-recipes") for name in recipes}
    sources = [shared / folder for folder in BVH_FOLDERS]
    if quick:
        sources[0:1] = [shared / "lafan1" / "bvh" / take for take in QUICK_LAFAN1_TAKES]
    corpus, tokenizer, tokens = workdir / "corpus", workdir / "flowvq", workdir / "tokens"
    pretrain, sft, evaluator = workdir / "pretrain", workdir / "sft", workdir / "evaluator"
    btwn = workdir / "btwn"
    reconstruction, btwn_report = workdir / "flowvq-subject4.json", workdir / "btwn-lafan1.json"
    split_options = [word for tag in split_tags(shared) for word in ("--split-tag", tag)]
    benchmark = arguments(
        ["--split", "test", "--checkpoint", sft, "--evaluator", evaluator],
        ["--multimodality-samples", "0"],
        ["--limit", "16", "--replications", "1"]
        if quick
        else ["--replications", str(REPLICATIONS)],
    )
    return [
        Stage(
            "prepare",
            arguments("prepare", "bvh", sources, "-o", corpus, split_options),
            corpus / "vermo_corpus.json",
        ),
        Stage(
            "tokenize fit",
            arguments("tokenize", "fit", "--data", corpus, "-o", tokenizer)
            + arguments("--recipe", recipes["mocap-flowvq.yaml"]),
            tokenizer / "tokenizer.json",
            "stages.2",
            needs=("prepare",),
        ),
        Stage(
            "tokenize eval",
            arguments("tokenize", "eval", "--tokenizer", tokenizer, "--data", corpus)
            + arguments("--split", VALIDATION_SUBJECT, "--json", reconstruction)
            + arguments(["--limit", "4"] if quick else []),
            reconstruction,
            needs=("prepare", "tokenize fit"),
        ),
        Stage(
            "tokenize encode",
            arguments(
                "tokenize", "encode", "--tokenizer", tokenizer, "--data", corpus, "-o", tokens
            ),
            tokens / "vermo_tokens.json",
            needs=("prepare", "tokenize fit"),
        ),
        Stage(
            "pretrain",
            arguments("pretrain", "--data", tokens, "-o", pretrain)
            + arguments("--recipe", recipes["mocap-pretrain.yaml"]),
            pretrain / "vermo_run.json",
            "model_step",
            needs=("tokenize encode",),
        ),
        Stage(
            "sft",
            arguments("sft", "--data", tokens, "--from", pretrain, "-o", sft)
            + arguments("--recipe", recipes["mocap-sft.yaml"]),
            sft / "vermo_run.json",
            "model_step",
            needs=("tokenize encode", "pretrain"),
        ),
        Stage(
            "fit evaluator",
            arguments("eval", "fit-evaluator", "--data", corpus, "--kind", "text-motion")
            + arguments("--recipe", RECIPES / "evaluator-text-motion.yaml", "-o", evaluator)
            + arguments(["--steps", "30"] if quick else []),
            evaluator / "evaluator.json",
            needs=("prepare",),
        ),
        Stage(
            "eval t2m",
            arguments("eval", "t2m", benchmark, "--json", workdir / "t2m-test.json"),
            workdir / "t2m-test.json",
            needs=("sft", "fit evaluator"),
        ),
        Stage(
            "eval m2t",
            arguments("eval", "m2t", benchmark, "--json", workdir / "m2t-test.json"),
            workdir / "m2t-test.json",
            needs=("sft", "fit evaluator"),
        ),
        Stage(
            "specialize btwn",
            arguments("specialize", "btwn", "--data", shared / LAFAN1_TRAIN, "-o", btwn)
            + arguments("--recipe", recipes["mocap-btwn.yaml"]),
            btwn / "inbetween.json",
        ),
        Stage(
            "eval btwn",
            arguments("eval", "btwn", "--protocol", "lafan1", "--checkpoint", btwn)
            + arguments("--train-bvh", shared / LAFAN1_TRAIN, "--test-bvh", shared / LAFAN1_TEST)
            + arguments("--json", btwn_report, ["--limit", "32"] if quick else []),
            btwn_report,
            needs=("specialize btwn",),
        ),
    ]


def is_done(stage: Stage) -> bool:
    """Whether the stage's JSON file exists and holds its `done_key` (dotted, e.g. `stages.2`)."""
    if not stage.done_file.is_file():
        return False
    value: Any = json.loads(stage.done_file.read_text())
    for key in stage.done_key.split(".") if stage.done_key else ():
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


def log_path(workdir: Path, stage: Stage) -> Path:
    """Where the stage's command writes its output: WORKDIR/logs/NAME.log."""
    return workdir / "logs" / f"{stage.name.replace(' ', '-')}.log"


def run_stage(stage: Stage, log: Path) -> tuple[float, bool]:
    """Run the stage's command with `--overwrite` (it replaces a partial output), its output
    to `log`; the wall time in seconds and whether it succeeded. A failure prints the command
    and the log's last lines."""
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with open(log, "w") as handle:
        finished = subprocess.run(
            [*VERMO, *stage.arguments, "--overwrite"], stdout=handle, stderr=subprocess.STDOUT
        )
    seconds = time.perf_counter() - began
    if finished.returncode:
        code = finished.returncode
        print(f"error: stage {stage.name} failed (exit {code}) after {seconds:.0f} s")
        print(f"  command: {display(stage)}")
        print(f"  last lines of {log}:")
        print("\n".join(f"    {line}" for line in log.read_text().splitlines()[-15:]))
    return seconds, finished.returncode == 0


def display(stage: Stage) -> str:
    """The stage's command as a user would type it."""
    return shlex.join(["vermo", *stage.arguments])


def read_timings(path: Path, quick: bool, overwrite: bool) -> dict[str, float]:
    """Seconds each finished stage took when it ran, from `path` (WORKDIR/stage_seconds.json);
    empty with `overwrite`. Exits 1 when the workdir holds a run of the other mode."""
    if overwrite or not path.is_file():
        return {}
    recorded = json.loads(path.read_text())
    if recorded["quick"] != quick:
        mode = "a --quick run" if recorded["quick"] else "a full run"
        print(f"error: {path.parent} holds {mode}: pass another --workdir or --overwrite")
        sys.exit(1)
    return {name: float(seconds) for name, seconds in recorded["seconds"].items()}


@dataclass
class Outcome:
    """What `run_pipeline` did: the seconds of every finished stage (this run's, or recorded
    when it ran before), the stages that ran now, and those that failed or could not run
    because a stage they need failed."""

    seconds: dict[str, float]
    ran: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)


def run_pipeline(stages: Sequence[Stage], workdir: Path, quick: bool, overwrite: bool) -> Outcome:
    """Run or skip each stage in order, printing a line for each."""
    timings_path = workdir / "stage_seconds.json"
    outcome = Outcome(read_timings(timings_path, quick, overwrite))
    for number, stage in enumerate(stages, start=1):
        prefix = f"[{number:2d}/{len(stages)}] {stage.name:<16}"
        blocked = [need for need in stage.needs if need in outcome.failed]
        if blocked:
            print(f"{prefix} not run: {', '.join(blocked)} failed")
            outcome.failed.add(stage.name)
            continue
        stale = any(need in outcome.ran for need in stage.needs)
        if not overwrite and not stale and is_done(stage):
            before = outcome.seconds.get(stage.name)
            took = f", took {before:.0f} s when it ran" if before is not None else ""
            print(f"{prefix} skipped: {stage.done_file} exists{took}")
            continue
        print(f"{prefix} {display(stage)}", flush=True)
        seconds, succeeded = run_stage(stage, log_path(workdir, stage))
        outcome.ran.add(stage.name)
        outcome.seconds.pop(stage.name, None)
        if succeeded:
            outcome.seconds[stage.name] = seconds
            print(f"{prefix} {seconds:.1f} s", flush=True)
        else:
            outcome.failed.add(stage.name)
        timings_path.write_text(json_text({"quick": quick, "seconds": outcome.seconds}))
    return outcome


def reconstruction_rows(report: dict[str, Any]) -> list[Row]:
    """Rows of `vermo tokenize eval --json`: body MPJPE, body PA-MPJPE and root FDE (metres) of
    each decoder, from `decoders.{vqvae,flow}.{mpjpe_body,pa_mpjpe_body,fde}`."""
    stage = f"tokenizer, {report['clips']} clips"
    rows = []
    for decoder, label in (("vqvae", "stage 1"), ("flow", "flow")):
        metrics = report["decoders"].get(decoder)
        if metrics is None:
            continue
        mpjpe, fde = metrics["mpjpe_body"], metrics["fde"]
        paper = f"<= {MPJPE_TARGET}; paper {PAPER_FLOWVQ_MPJPE}"
        rows.append(Row(stage, f"body MPJPE m, {label}", mpjpe, paper, _met(mpjpe, MPJPE_TARGET)))
        rows.append(Row(stage, f"body PA-MPJPE m, {label}", metrics["pa_mpjpe_body"]))
        rows.append(
            Row(stage, f"root FDE m, {label}", fde, f"<= {FDE_TARGET}", _met(fde, FDE_TARGET))
        )
    return rows


def _met(value: float, most: float) -> str:
    """ "yes" when `value` is at most `most`, else "no"."""
    return "yes" if value <= most else "no"


def metric_row(stage: str, measure: str, report: dict[str, Any], system: str, metric: str) -> Row:
    """A row of one system's metric in a `vermo eval` report (`rows.SYSTEM.METRIC.mean` and
    `.ci95`, over the replications)."""
    summary = report["rows"][system][metric]
    return Row(stage, measure, summary["mean"], interval=summary["ci95"])


def t2m_rows(report: dict[str, Any]) -> list[Row]:
    """R-precision top-3 of the `Real` row (the test clips' own motions) and of the `model`
    row of `vermo eval t2m --json`; the model's target is `T2M_SHARE_OF_REAL` of Real."""
    stage = f"t2m, {report['protocol']['clips']} clips"
    real = metric_row(stage, "R-top-3, Real", report, "Real", "r_precision_top3")
    model = metric_row(stage, "R-top-3, model", report, "model", "r_precision_top3")
    target = T2M_SHARE_OF_REAL * report["rows"]["Real"]["r_precision_top3"]["mean"]
    met = "yes" if report["rows"]["model"]["r_precision_top3"]["mean"] >= target else "no"
    return [real, replace(model, reference=f">= {T2M_SHARE_OF_REAL} Real: {target:.3f}", met=met)]


def m2t_rows(report: dict[str, Any]) -> list[Row]:
    """BLEU@4 (0-100) of the baseline row of `vermo eval m2t --json` (named in
    `captions.baseline.system`: the training split's most frequent caption for every clip) and
    of the `model` row."""
    stage = f"m2t, {report['protocol']['clips']} clips"
    baseline = report["captions"]["baseline"]["system"]
    rows = report["rows"]
    met = "yes" if rows["model"]["bleu4"]["mean"] > rows[baseline]["bleu4"]["mean"] else "no"
    model = metric_row(stage, "BLEU@4, model", report, "model", "bleu4")
    return [
        metric_row(stage, f"BLEU@4, {baseline}", report, baseline, "bleu4"),
        replace(model, reference=f"> {baseline}", met=met),
    ]


def btwn_rows(report: dict[str, Any]) -> list[Row]:
    """L2P at each n of `vermo eval btwn --protocol lafan1 --json` (`rows.SYSTEM.l2p@N`) for
    interpolation, zero velocity and the model, and the model's L2P over interpolation's at
    n = 30 (target below 1, goal at most `BTWN_GOAL`)."""
    protocol = report["protocol"]
    stage = f"btwn, {protocol['test_windows']['count']} windows"
    transitions = "/".join(str(n) for n in protocol["transitions"])
    rows = []
    for system in ("interpolation", "zero velocity", "model"):
        values = [report["rows"][system][f"l2p@{n}"] for n in protocol["transitions"]]
        rows.append(Row(stage, f"L2P {transitions}, {system}", values))
    ratio = report["rows"]["model"]["l2p@30"] / report["rows"]["interpolation"]["l2p@30"]
    met = "goal" if ratio <= BTWN_GOAL else "yes" if ratio < 1 else "no"
    reference = f"< 1, goal <= {BTWN_GOAL}"
    rows.append(Row(stage, "L2P 30, model / interp.", ratio, reference, met))
    return rows


REPORT_ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "tokenize eval": reconstruction_rows,
    "eval t2m": t2m_rows,
    "eval m2t": m2t_rows,
    "eval btwn": btwn_rows,
}
"""The stages whose JSON report (`Stage.done_file`) gives rows, and how."""


def result_rows(stages: Sequence[Stage], failed: set[str], workdir: Path) -> list[Row]:
    """Every row of the table, from the stages' JSON reports; a row without a value points to
    the log of a stage that failed or could not run."""
    rows = []
    for stage in stages:
        rows_of = REPORT_ROWS.get(stage.name)
        if rows_of is None:
            continue
        if stage.name in failed or not stage.done_file.is_file():
            rows.append(Row(stage.name, "failed", None, f"see {log_path(workdir, stage)}"))
        else:
            rows += rows_of(json.loads(stage.done_file.read_text()))
    return rows


def cell(row: Row) -> str:
    """The value column: three decimals, the interval when there were several replications."""
    if row.value is None:
        return "-"
    if isinstance(row.value, list):
        return " / ".join(f"{value:.3f}" for value in row.value)
    interval = f" ±{row.interval:.3f}" if row.interval else ""
    return f"{row.value:.3f}{interval}"


def result_table(rows: Sequence[Row], quick: bool, total_seconds: float) -> Table:
    """The one table the benchmark prints."""
    table = Table(
        title=f"vermo on real mocap{' (QUICK: a smoke test, not a result)' if quick else ''}: "
        f"all stages {total_seconds / 60:.1f} min",
        caption="tokenizer: LAFAN1 subject 4 (never trained on); t2m, m2t: the held-out Bandai "
        f"styles ({', '.join(HELD_OUT_STYLES)}); btwn: LAFAN1 protocol, subject 4 as the test "
        "takes; ± 95 % interval over replications",
        title_justify="left",
        caption_justify="left",
    )
    for column in ("stage", "measure", "value", "reference", "met"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in rows:
        table.add_row(row.stage, row.measure, cell(row), row.reference, row.met)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("runs/real-mocap"))
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--quick", action="store_true", help="a smoke test of a few minutes")
    parser.add_argument("--overwrite", action="store_true", help="rerun every stage")
    args = parser.parse_args()
    missing = missing_shared_folders(args.shared)
    if missing:
        print(f"error: {args.shared} lacks {', '.join(missing)}: pass --shared DIR")
        sys.exit(1)
    args.workdir.mkdir(parents=True, exist_ok=True)
    stages = pipeline(args.shared, args.workdir, args.quick)
    began = time.perf_counter()
    outcome = run_pipeline(stages, args.workdir, args.quick, args.overwrite)
    this_run = time.perf_counter() - began
    total = sum(outcome.seconds.get(stage.name, 0.0) for stage in stages)
    rows = result_rows(stages, outcome.failed, args.workdir)
    Console().print(result_table(rows, args.quick, total))
    print(f"total: {total / 60:.1f} min over all stages ({this_run / 60:.1f} min in this run)")
    record = {
        "quick": args.quick,
        "shared": str(args.shared),
        "workdir": str(args.workdir),
        "stages": [
            {
                "name": stage.name,
                "command": display(stage),
                "seconds": outcome.seconds.get(stage.name),
                "ran_now": stage.name in outcome.ran,
                "failed": stage.name in outcome.failed,
            }
            for stage in stages
        ],
        "total_seconds": total,
        "rows": [asdict(row) for row in rows],
    }
    (args.workdir / "real_mocap.json").write_text(json_text(record))
    if outcome.failed:
        print(f"error: stages that failed or could not run: {', '.join(sorted(outcome.failed))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
