"""Every bad-input case of docs/failure-behaviour.md, run as written: each gives its one-line
error (or the option parser's usage error) with no traceback, and writes nothing anywhere."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
import yaml
from conftest import CodeRunningPayload, cli_error, run_cli
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from vermo_cli.cli import app
from vermo_cli.data.store import open_corpus
from vermo_cli.motion.bvh_export import write_joints_bvh
from vermo_cli.motion.npz import save_motion_npz

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "failure-behaviour.md"
SUBCOMMANDS = (
    "prepare", "tokenize fit", "tokenize encode", "tokenize decode", "tokenize eval",
    "pretrain", "sft", "specialize", "generate", "eval fit-evaluator", "eval", "render",
    "tasks", "quickstart",
)  # fmt: skip
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9_]*[A-Z0-9]\b")
BOX_DRAWING = re.compile(r"[│╭╮╰╯─]")


FOUND = ("up front", "working", "parsing")
"""When a mistake is found: before any work (nothing at all is written, not even a staging
folder that is removed again), during the work (what was staged is removed: nothing is left),
or by the option parser (exit code 2)."""


@dataclass(frozen=True)
class Case:
    """One row of the table: `vermo ARGS` (run in `directory` when the row starts with
    `cd DIRECTORY &&`), what is wrong, when it is found (`FOUND`), the exit code and the
    message (`…` stands for any text)."""

    command: str
    wrong: str
    found: str
    exit_code: int
    message: str

    @property
    def subcommand(self) -> str:
        words = self.command.split("&&")[-1].split()[1:]
        two = " ".join(words[:2])
        return two if two in SUBCOMMANDS else words[0]


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row (`\\|` is a literal bar)."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _code(cell: str) -> str:
    """The text of a code span: `text`, or `` text `` when the text holds backticks."""
    if cell.startswith("`` ") and cell.endswith(" ``"):
        return cell[3:-3]
    assert cell.startswith("`") and cell.endswith("`"), cell
    return cell[1:-1]


def table_cases() -> list[Case]:
    """Every row of every table of docs/failure-behaviour.md whose command is `vermo ...`."""
    cases = []
    for line in PAGE.read_text().splitlines():
        if line.startswith("| `vermo ") or line.startswith("| `cd "):
            command, wrong, found, exit_code, message = _cells(line)
            cases.append(Case(_code(command), wrong, found, int(exit_code), _code(message)))
    return cases


CASES = table_cases()


def test_the_table_covers_every_subcommand() -> None:
    assert len(CASES) >= 60
    assert {case.subcommand for case in CASES} == set(SUBCOMMANDS)
    assert len({case.command for case in CASES}) == len(CASES), "a case is listed twice"
    assert all(case.found in FOUND for case in CASES)
    assert all((case.exit_code == 2) == (case.found == "parsing") for case in CASES)


def _cut_short(source: Path, target: Path, keep: float = 0.5) -> Path:
    """A copy of `source` with only its first `keep` of bytes."""
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def _craft(files: list[Path], marker: Path) -> None:
    """Replace each of `files` by a torch-saved state whose unpickling would create `marker`."""
    assert files, "nothing to craft"
    for path in files:
        torch.save({"model": CodeRunningPayload(marker)}, path)


def _swap_weights(directory: Path, name: str, target: Path) -> Path:
    """A copy of `directory` whose weight file `name` holds slightly different weights."""
    shutil.copytree(directory, target, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    tensors = load_file(str(directory / name))
    first = next(key for key, tensor in tensors.items() if tensor.is_floating_point())
    tensors[first] = tensors[first] + 1e-3
    save_file(tensors, str(target / name))
    return target


def _crafted_places(root: Path, runs: Path, evaluator: Path, bad: Path) -> dict[str, Path]:
    """Runs whose checkpoints would run code when unpickled (the marker each would create lies
    inside the run, so the test's snapshot would see it), swapped weights, a run with only a
    pickled model, a checkpoint index that leaves the run, a corpus naming audio outside it."""
    tokenizer_run = bad / "crafted-tokenizer"
    shutil.copytree(root / "tokenizer", tokenizer_run)
    _craft(sorted(tokenizer_run.glob("checkpoints/stage*/step-*.pt")), tokenizer_run / "marker")
    codec_run = bad / "crafted-codec"
    shutil.copytree(root / "codec", codec_run)
    _craft([codec_run / "checkpoint.pt"], codec_run / "marker")
    lm_run = bad / "crafted-run"
    shutil.copytree(runs / "pre", lm_run)
    _craft(sorted(lm_run.glob("checkpoints/*/*model_states.pt")), lm_run / "marker")
    escaping = bad / "escaping-run"
    shutil.copytree(runs / "pre", escaping)
    (escaping / "checkpoints" / "latest").write_text("../../elsewhere")
    pickled = bad / "pickled-run"
    shutil.copytree(runs / "sft", pickled, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    for weights in (pickled / "model").glob("*.safetensors"):
        weights.unlink()
    torch.save(
        {"weight": CodeRunningPayload(pickled / "marker")}, pickled / "model" / "pytorch_model.bin"
    )
    rows = datasets.load_from_disk(str(root / "corpus"))
    rows = rows.map(
        lambda row: (
            {"audio": {**row["audio"], "path": "../../etc/passwd"}}
            if row["audio"] is not None
            else {}
        )
    )
    rows.save_to_disk(str(bad / "escaping-corpus"))
    shutil.copyfile(
        root / "corpus" / "vermo_corpus.json", bad / "escaping-corpus" / "vermo_corpus.json"
    )
    return {
        "CRAFTED_TOKENIZER": tokenizer_run,
        "CRAFTED_CODEC": codec_run,
        "CRAFTED_RUN": lm_run,
        "ESCAPING_RUN": escaping,
        "PICKLED_RUN": pickled,
        "SWAPPED_TOKENIZER": _swap_weights(
            root / "tokenizer", "stage1.safetensors", bad / "swapped-tokenizer"
        ),
        "SWAPPED_FLOW": _swap_weights(root / "tokenizer", "flow.safetensors", bad / "swapped-flow"),
        "SWAPPED_EVALUATOR": _swap_weights(
            evaluator, "model.safetensors", bad / "swapped-evaluator"
        ),
        "ESCAPING_CORPUS": bad / "escaping-corpus",
    }


def _copy_with_cut_file(directory: Path, target: Path, name: str) -> Path:
    shutil.copytree(directory, target, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    _cut_short(directory / name, target / name, keep=0.3)
    return target


@pytest.fixture(scope="module")
def places(
    token_workspace: Path, trained_runs: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """What the table's placeholders stand for: the tiny trained model and its data, and bad
    files made from them."""
    root, runs = token_workspace, trained_runs
    bad = tmp_path_factory.mktemp("bad-inputs")
    corpus = open_corpus(root / "corpus")
    row = corpus.clips.with_format("numpy", columns=["motion", "joint_mask"])[0]
    walk, mask = row["motion"][:, :60], row["joint_mask"]
    save_motion_npz(bad / "walk.npz", walk, mask)
    with_nan = walk.copy()
    with_nan[0, 5, 3, 1] = np.nan
    np.savez(bad / "nan.npz", joints=with_nan, mask=mask)
    np.savez(bad / "huge.npz", joints=walk * 1e6, mask=mask)
    np.savez(bad / "no-frames.npz", joints=walk[:, :0], mask=mask)
    np.savez(bad / "wrong-shape.npz", joints=walk[:, :, :22], mask=mask)
    _cut_short(bad / "walk.npz", bad / "truncated.npz")
    write_joints_bvh(bad / "walk.bvh", walk[0], 30.0)
    _cut_short(bad / "walk.bvh", bad / "truncated.bvh", keep=0.2)
    (bad / "not-audio.wav").write_text("not audio")
    (bad / "notes.txt").write_text("a motion, honestly")
    (bad / "letters.txt").write_text("1 2 three\n")
    (bad / "out-of-range.txt").write_text("1 2 99999\n")
    _cut_short(bad / "walk.npz", bad / "truncated.npy", keep=0.01)
    (bad / "bad-recipe.yaml").write_text("- just\n- a list\n")
    (bad / "a-file").write_text("a file, not a folder")
    (bad / "empty").mkdir()
    for suffix in (".npz", ".mp4", ".png", ".json"):
        (bad / f"taken{suffix}").mkdir()
        (bad / f"existing{suffix}").write_text("already here")
    (bad / "blocked").mkdir()
    (bad / "blocked" / "corpus").write_text("a file where the quickstart puts its corpus")
    stage1, flow = "stage1.safetensors", "flow.safetensors"
    _copy_with_cut_file(root / "tokenizer", bad / "truncated-tokenizer", stage1)
    _copy_with_cut_file(root / "tokenizer", bad / "truncated-flow", flow)
    _copy_with_cut_file(root / "codec", bad / "truncated-codec", "model.safetensors")
    _copy_with_cut_file(runs / "sft", bad / "truncated-run", "model/model.safetensors")
    evaluator = bad / "evaluator"
    run_cli(
        "eval", "fit-evaluator", "--data", root / "corpus", "--kind", "text-motion",
        "--steps", "2", "--batch-size", "4", "-o", evaluator,
    )  # fmt: skip
    _copy_with_cut_file(evaluator, bad / "truncated-evaluator", "model.safetensors")
    shutil.copytree(root / "corpus", bad / "broken-corpus")
    (bad / "broken-corpus" / "vermo_corpus.json").write_text("{not json")
    shutil.copytree(root / "corpus", bad / "cut-corpus")
    arrow = sorted((bad / "cut-corpus").glob("data-*.arrow"))[0]
    _cut_short(arrow, arrow, keep=0.1)
    shutil.copytree(root / "tokens", bad / "broken-tokens")
    (bad / "broken-tokens" / "vermo_tokens.json").write_text("{not json")
    first_clip = str(corpus.clips[0]["id"])
    recipe = yaml.safe_load((root / "specialize.yaml").read_text())
    assert recipe["stage"] == "specialize"
    return {
        "CORPUS": root / "corpus",
        "TOKENS": root / "tokens",
        "TOKENIZER": root / "tokenizer",
        "CODEC": root / "codec",
        "FLOWVQ_RECIPE": root / "flowvq.yaml",
        "CODEC_RECIPE": root / "codec.yaml",
        "PRETRAIN_RECIPE": root / "pretrain.yaml",
        "SFT_RECIPE": root / "sft.yaml",
        "SPECIALIZE_RECIPE": root / "specialize.yaml",
        "BTWN_RECIPE": ROOT / "recipes" / "mocap-btwn.yaml",
        "PRETRAIN_RUN": runs / "pre",
        "RUN": runs / "sft",
        "EVALUATOR": evaluator,
        "CLIP": Path(first_clip),
        "WALK": bad / "walk.npz",
        "WALK_BVH": bad / "walk.bvh",
        "NAN_MOTION": bad / "nan.npz",
        "HUGE_MOTION": bad / "huge.npz",
        "NO_FRAMES": bad / "no-frames.npz",
        "WRONG_SHAPE": bad / "wrong-shape.npz",
        "TRUNCATED_NPZ": bad / "truncated.npz",
        "TRUNCATED_BVH": bad / "truncated.bvh",
        "TRUNCATED_NPY": bad / "truncated.npy",
        "NOT_AUDIO": bad / "not-audio.wav",
        "NOTES": bad / "notes.txt",
        "LETTERS": bad / "letters.txt",
        "OUT_OF_RANGE": bad / "out-of-range.txt",
        "BAD_RECIPE": bad / "bad-recipe.yaml",
        "FILE": bad / "a-file",
        "EMPTY": bad / "empty",
        "TAKEN": bad / "taken",
        "EXISTING": bad / "existing",
        "BLOCKED": bad / "blocked",
        "MISSING": bad / "missing",
        "TRUNCATED_TOKENIZER": bad / "truncated-tokenizer",
        "TRUNCATED_FLOW": bad / "truncated-flow",
        "TRUNCATED_CODEC": bad / "truncated-codec",
        "TRUNCATED_RUN": bad / "truncated-run",
        "TRUNCATED_EVALUATOR": bad / "truncated-evaluator",
        "BROKEN_CORPUS": bad / "broken-corpus",
        "CUT_CORPUS": bad / "cut-corpus",
        "BROKEN_TOKENS": bad / "broken-tokens",
        **_crafted_places(root, runs, evaluator, bad),
    }


def substitute(text: str, places: dict[str, Path]) -> str:
    """`text` with each placeholder replaced by the path it stands for."""
    return PLACEHOLDER.sub(lambda m: str(places.get(m[0], m[0])), text)


def snapshot(paths: list[Path], folder_times: bool) -> dict[str, tuple]:
    """Size and modification time of everything at and under `paths` and of their parents'
    entries, so that any file written or changed shows; with `folder_times` the folders' times
    too, so that a file created and removed again shows as well."""
    seen: dict[str, tuple] = {}
    for path in paths:
        for place in (path, path.parent):
            entries = [place]
            if place.is_dir():
                entries = [place, *place.rglob("*")] if place == path else [*place.iterdir()]
            for entry in entries:
                if not entry.exists() and not entry.is_symlink():
                    seen[str(entry)] = ("absent",)
                    continue
                stat = entry.lstat()
                folder = entry.is_dir() and not entry.is_symlink()
                seen[str(entry)] = (
                    "folder" if folder else stat.st_size,
                    stat.st_mtime_ns if folder_times or not folder else None,
                )
    return seen


def pattern(message: str) -> re.Pattern[str]:
    """The expected message, with `…` matching any text."""
    return re.compile(".*".join(re.escape(part) for part in message.split("…")))


@pytest.mark.parametrize("case", CASES, ids=[case.command for case in CASES])
def test_bad_input_fails_cleanly_and_writes_nothing(
    case: Case, places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, out = tmp_path / "here", tmp_path / "out"
    here.mkdir()
    out.mkdir()
    places = {**places, "OUT": out}
    directory, _, command = case.command.rpartition("&&")
    words = shlex.split(command)
    assert words[0] == "vermo"
    arguments = [substitute(word, places) for word in words[1:]]
    if directory:
        cd, target = directory.split()
        assert cd == "cd"
        here = Path(substitute(target, places))
    used = [places[name] for name in PLACEHOLDER.findall(case.command) if name in places]
    strict = case.found != "working"
    before = snapshot([*used, here, out], strict)
    monkeypatch.chdir(here)
    result = CliRunner().invoke(app, arguments)
    output = result.output
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert result.exit_code == case.exit_code, output
    expected = pattern(substitute(case.message, places))
    if case.exit_code == 1:
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, output
        assert expected.fullmatch(errors[0]), f"{errors[0]}\n  expected: {expected.pattern}"
    else:
        text = " ".join(BOX_DRAWING.sub(" ", output).split())
        assert output.startswith("Usage: vermo") and expected.search(text), output
    assert snapshot([*used, here, out], strict) == before, "the refused command wrote something"


def dead_pid() -> int:
    """The id of a process that has finished."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_reading_a_corpus_or_token_corpus_writes_nothing_into_it(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, tokens, tokenizer = places["CORPUS"], places["TOKENS"], places["TOKENIZER"]
    before = snapshot([corpus, tokens], folder_times=True)
    monkeypatch.chdir(tmp_path)
    clip = str(places["CLIP"])
    run_cli("tokenize", "decode", "--tokenizer", tokenizer, tokens, "--clip", clip, "-o", "a.npz")
    run_cli("tokenize", "eval", "--tokenizer", tokenizer, "--data", corpus, "--split", "train",
            "--limit", "2")  # fmt: skip
    run_cli("tokenize", "encode", "--tokenizer", tokenizer, "--data", corpus, "-o", "tokens")
    run_cli("tokenize", "fit", "--data", corpus, "--recipe", places["FLOWVQ_RECIPE"], "--stage",
            "1", "-o", "tokenizer")  # fmt: skip
    run_cli("render", corpus, "--clip", clip, "--sheet", "--size", "64", "-o", "clip")
    run_cli("eval", "fit-evaluator", "--data", corpus, "--kind", "gesture", "--steps", "1",
            "--batch-size", "4", "-o", "gesture")  # fmt: skip
    run_cli("pretrain", "--data", tokens, "--recipe", places["PRETRAIN_RECIPE"], "-o", "run")
    run_cli("eval", "t2m", "--checkpoint", places["RUN"], "--data", tokens, "--evaluator",
            places["EVALUATOR"], "--split", "train", "--limit", "3", "--replications", "1",
            "--multimodality-prompts", "0", "--json", "report.json")  # fmt: skip
    assert snapshot([corpus, tokens], folder_times=True) == before


def test_partials_of_killed_runs_are_removed_by_the_next_run(
    places: dict[str, Path], tmp_path: Path
) -> None:
    dead, alive = dead_pid(), os.getppid()
    left = [
        tmp_path / f".corpus.partial-{dead}",
        tmp_path / f".corpus.old-{dead}",
        tmp_path / f".clip.partial-{dead}.mp4",
        tmp_path / f".clip.partial-{dead}.mp4.wav",
        tmp_path / f".clip.partial-{dead}.png",
        tmp_path / f".wave.partial-{dead}.npz",
        tmp_path / f".wave.partial-{dead}.bvh",
    ]
    kept = tmp_path / f".wave.partial-{alive}.npz"
    for path in [*left, kept]:
        if ".corpus." in path.name:
            path.mkdir()
            (path / "data-00000-of-00001.arrow").write_bytes(bytes(1_000_000))
        else:
            path.write_bytes(b"half a file")
    run_cli("prepare", "synthetic", "--clips", "10", "--workers", "1", "-o", tmp_path / "corpus")
    run_cli("render", places["WALK"], "--video", "--sheet", "--size", "64", "-o",
            tmp_path / "clip")  # fmt: skip
    run_cli("generate", "t2m", "a person waves", "--duration", "1", "--bvh", "--checkpoint",
            places["RUN"], "-o", tmp_path / "wave")  # fmt: skip
    assert not [path for path in left if path.exists()]
    assert kept.exists(), "a partial of a process still running is left alone"
    assert {path.name for path in tmp_path.iterdir()} == {
        "corpus", "clip.mp4", "clip.png", "wave.npz", "wave.bvh", kept.name,
    }  # fmt: skip


def test_resume_without_a_run_writes_nothing(places: dict[str, Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for output in (empty, tmp_path / "new"):
        for stage, extra in (("pretrain", []), ("sft", ["--from", places["PRETRAIN_RUN"]])):
            recipe = places[f"{stage.upper()}_RECIPE"]
            line = cli_error(stage, "--data", places["TOKENS"], "--recipe", recipe, *extra,
                             "-o", output, "--resume")  # fmt: skip
            assert "nothing to resume" in line
    assert [path.name for path in tmp_path.iterdir()] == ["empty"]
    assert not any(empty.iterdir())
