"""Portable runs: paths inside vermo's records are relative to the record when they were given
relative or lie inside the working directory (`files.path_for_record`), so corpora, tokenizers
and runs copied together to another folder keep finding each other there; records holding
absolute paths still load."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli

from vermo_cli.files import path_for_record, path_from_record
from vermo_cli.tokenizers.token_corpus import encoding_input
from vermo_cli.tokenizers.vocabulary import (
    VOCABULARY_FILE,
    TokenizerIdentities,
    Vocabulary,
    train_text_tokenizer,
)


def test_a_relative_path_is_recorded_relative_to_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    record = Path("runs/sft/vermo_run.json")
    assert path_for_record(Path("corpus/tokens"), record) == "../../corpus/tokens"
    assert path_for_record(Path("corpus/tokens"), tmp_path / record) == "../../corpus/tokens"
    assert path_for_record(Path("runs/pre"), record) == "../pre"
    assert path_from_record("../../corpus/tokens", record) == Path("corpus/tokens")
    assert path_from_record("../pre", tmp_path / record) == tmp_path / "runs" / "pre"


def test_an_absolute_path_is_recorded_as_given(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "tokenizer"
    assert path_for_record(target, Path("runs/sft/vermo_run.json")) == str(target)
    assert path_from_record(str(target), Path("runs/sft/vermo_run.json")) == target


def test_an_absolute_path_inside_the_working_directory_is_recorded_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    record = tmp_path / "runs" / "sft" / "vermo_run.json"
    assert path_for_record(tmp_path / "corpus" / "tokens", record) == "../../corpus/tokens"
    assert path_for_record(tmp_path / "runs" / "pre", Path("runs/sft/x.json")) == "../pre"


def test_a_relative_record_follows_its_record_when_moved(tmp_path: Path) -> None:
    relative = path_for_record(Path("runs/tokenizer"), Path("corpus/tokens/vermo_tokens.json"))
    moved = tmp_path / "after" / "corpus" / "tokens" / "vermo_tokens.json"
    assert path_from_record(relative, moved) == tmp_path / "after" / "runs" / "tokenizer"


def test_a_token_corpus_reads_old_absolute_and_new_relative_records() -> None:
    old = {"tokenizer": {"path": "/data/runs/tokenizer"}, "codec": None}
    assert encoding_input(Path("tokens"), old, "tokenizer") == Path("/data/runs/tokenizer")
    assert encoding_input(Path("tokens"), old, "codec") is None
    new = {"corpus": {"path": "../corpus"}}
    assert encoding_input(Path("data/tokens"), new, "corpus") == Path("data/corpus")


def test_a_vocabulary_records_its_init_model_relative_to_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = train_text_tokenizer(["a person walks", "a person waves"], 300)
    identities = TokenizerIdentities(motion="m", motion_size=4, audio="none", audio_size=0)
    Vocabulary(text, identities, "tokenizer of the --init model", Path("base")).save(
        Path("runs/pre/vocabulary")
    )
    record = json.loads((tmp_path / "runs/pre/vocabulary" / VOCABULARY_FILE).read_text())
    assert record["init"] == "../../../base"
    shutil.copytree(tmp_path / "runs", tmp_path / "copy" / "runs")
    loaded = Vocabulary.load(tmp_path / "copy" / "runs" / "pre" / "vocabulary")
    assert loaded.init == tmp_path / "copy" / "base"
    del record["init"]  # as written before the rule
    (tmp_path / "runs/pre/vocabulary" / VOCABULARY_FILE).write_text(json.dumps(record))
    assert Vocabulary.load(Path("runs/pre/vocabulary")).init is None


@pytest.fixture(scope="module")
def moved(token_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A pipeline built with relative paths in `original/` (`corpus/synthetic`, `runs/codec`
    copied from `token_workspace`; a tokenizer, token corpus, pretrain and sft runs and a
    text-motion evaluator made there), copied to `moved/`; `original/` is deleted. The working
    directory is `elsewhere/`, beside both."""
    from vermo_cli.train.stages import StageRequest, run_stage

    root = tmp_path_factory.mktemp("portable")
    original = root / "original"
    (root / "elsewhere").mkdir()
    shutil.copytree(token_workspace / "corpus", original / "corpus" / "synthetic")
    shutil.copytree(token_workspace / "codec", original / "runs" / "codec")
    for name in ("flowvq.yaml", "pretrain.yaml", "sft.yaml"):
        shutil.copyfile(token_workspace / name, original / name)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(original)
        corpus, tokens = "corpus/synthetic", Path("corpus/tokens")
        run_cli("tokenize", "fit", "--data", corpus, "--recipe", "flowvq.yaml",
                "-o", "runs/tokenizer")  # fmt: skip
        run_cli("tokenize", "encode", "--tokenizer", "runs/tokenizer", "--data", corpus,
                "--codec", "runs/codec", "-o", tokens)  # fmt: skip
        run_stage(StageRequest("pretrain", tokens, Path("pretrain.yaml"), Path("runs/pre")))
        run_stage(StageRequest("sft", tokens, Path("sft.yaml"), Path("runs/sft"), Path("runs/pre")))
        run_cli("eval", "fit-evaluator", "--data", corpus, "--kind", "text-motion",
                "--headcount", "1", "--steps", "3", "--batch-size", "4",
                "-o", "runs/evaluator")  # fmt: skip
    shutil.copytree(original, root / "moved")
    shutil.rmtree(original)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root / "elsewhere")
        yield root / "moved"


def _record(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.slow
def test_records_hold_paths_relative_to_themselves(moved: Path) -> None:
    tokens = _record(moved / "corpus" / "tokens" / "vermo_tokens.json")
    assert tokens["tokenizer"]["path"] == "../../runs/tokenizer"
    assert tokens["codec"]["path"] == "../../runs/codec"
    assert tokens["corpus"]["path"] == "../synthetic"
    run = _record(moved / "runs" / "sft" / "vermo_run.json")
    assert run["data"] == "../../corpus/tokens" and run["from"] == "../pre"
    assert run["init"] is None
    assert run["token_corpus"]["tokenizer_path"] == "../tokenizer"
    assert run["token_corpus"]["codec_path"] == "../codec"
    for folder, name in (("tokenizer", "tokenizer.json"), ("evaluator", "evaluator.json")):
        recorded = _record(moved / "runs" / folder / name)["corpus"]["path"]
        assert recorded == "../../corpus/synthetic", folder


@pytest.mark.slow
def test_generate_and_eval_work_from_the_copy(moved: Path) -> None:
    checkpoint = Path("../moved/runs/sft")
    run_cli("generate", "t2m", "a person waves", "--duration", "2", "--checkpoint", checkpoint,
            "-o", "out/wave", "--seed", "1")  # fmt: skip
    assert Path("out/wave.npz").is_file()
    run_cli("eval", "t2m", "--checkpoint", checkpoint, "--split", "train", "--limit", "4",
            "--replications", "1", "--evaluator", moved / "runs" / "evaluator",
            "--multimodality-prompts", "2", "--multimodality-samples", "2",
            "--json", "reports/t2m.json")  # fmt: skip
    protocol = _record(Path("reports/t2m.json"))["protocol"]
    assert protocol["token_corpus"] == str(Path("../moved/corpus/tokens"))
    assert protocol["corpus"]["path"] == str(Path("../moved/corpus/synthetic"))


@pytest.mark.slow
def test_a_stage_from_a_copied_run_records_the_copied_tokenizer(moved: Path) -> None:
    from vermo_cli.train.stages import StageRequest, run_stage

    sft = Path("runs/sft-again")
    run_stage(
        StageRequest(
            "sft", moved / "corpus" / "tokens", moved / "sft.yaml", sft, moved / "runs" / "pre"
        )
    )
    record = _record(sft / "vermo_run.json")
    tokenizer = record["token_corpus"]["tokenizer_path"]
    assert tokenizer == str(moved / "runs" / "tokenizer")  # its token corpus given absolute
    assert record["from"] == str(moved / "runs" / "pre")


@pytest.mark.slow
def test_a_run_record_with_absolute_paths_still_loads(moved: Path) -> None:
    from vermo_cli.generate.session import GenerationModel

    old = Path("runs/old-style")
    shutil.copytree(moved / "runs" / "sft", old)
    record = _record(old / "vermo_run.json")
    record["data"] = str(moved / "corpus" / "tokens")
    record["token_corpus"]["tokenizer_path"] = str(moved / "runs" / "tokenizer")
    record["token_corpus"]["codec_path"] = str(moved / "runs" / "codec")
    (old / "vermo_run.json").write_text(json.dumps(record))
    model = GenerationModel.load(old)
    assert model.tokenizer.directory == moved / "runs" / "tokenizer"
    assert model.recorded_path("data") == moved / "corpus" / "tokens"
