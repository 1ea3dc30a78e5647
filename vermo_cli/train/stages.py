"""The three training stages as data for the one training loop.

    pretrain    all 14 tasks, loss on every token; builds the vocabulary (BPE on the corpus
                text, or the tokenizer of `--init DIR`) and starts from random weights or `--init`
    sft         the nine benchmark tasks, loss on reply tokens; starts from a pretrain run
    specialize  one task, loss on reply tokens; starts from an sft run

Every run directory holds `vocabulary/` (the Hugging Face tokenizer with vermo's tokens and the
identities of the FlowVQ tokenizer and audio codec it was built for), `checkpoints/`, `logs/`
and `model/`: consolidated Hugging Face weights plus the same tokenizer files, which
`AutoModelForCausalLM.from_pretrained` and `AutoTokenizer.from_pretrained` load. `model/` holds
the best validation step's weights so far (exported whenever a validation pass sets a new best)
and at the end the run's model, as the recipe's `training.export` chooses; `vermo_run.json`
then records its step.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vermo_cli.errors import VermoError
from vermo_cli.files import (
    check_output_directory,
    check_replaceable,
    path_for_record,
    write_json_atomically,
)
from vermo_cli.messages.tasks import Stage, load_tasks, stage_tasks
from vermo_cli.messages.training_examples import TaskExampleSource, read_clips, vocabulary_texts
from vermo_cli.ranks import barrier, is_rank_zero, rank_zero_first
from vermo_cli.tokenizers.token_corpus import encoding_input
from vermo_cli.tokenizers.vocabulary import (
    TokenizerIdentities,
    Vocabulary,
    build_vocabulary,
    read_vocabulary_record,
)
from vermo_cli.train.launch import init_distributed, launched
from vermo_cli.train.lm_recipe import LmTrainRecipe, load_lm_recipe
from vermo_cli.train.loop import ProgressCallback, train_language_model
from vermo_cli.train.run_layout import (
    CHECKPOINTS_DIR,
    MODEL_DIR,
    NO_CODEC,
    RUN_FILE,
    VOCABULARY_DIR,
)
from vermo_cli.weights import check_weight_files


class StageError(VermoError):
    """A stage cannot start: wrong previous run, recipe of another stage, mismatched data."""


@dataclass(frozen=True)
class StageRequest:
    """What `vermo pretrain | sft | specialize` asks for."""

    stage: Stage
    data: Path
    """Token corpus (`vermo tokenize encode`)."""
    recipe: Path
    output: Path
    previous: Path | None = None
    """The run this stage starts from (pretrain for sft, sft for specialize)."""
    init: Path | None = None
    """A local Hugging Face causal LM to start pretraining from."""
    task: str | None = None
    """The task of `specialize`."""
    resume: bool = False
    overwrite: bool = False
    """Replace a run at `output` (deleted by `start_run`, after every check)."""


def check_replaceable_run(output: Path) -> None:
    """`StageError` unless `output` is absent, empty or a vermo run, so that a mistyped `-o`
    with `--overwrite` cannot delete unrelated files."""
    check_replaceable(output, (RUN_FILE,), "a vermo training run")


def remove_run(output: Path) -> None:
    """Delete a training run before `--overwrite` retrains it (see `check_replaceable_run`)."""
    if not output.exists():
        return
    check_replaceable_run(output)
    shutil.rmtree(output)


def corpus_identities(info: dict[str, Any]) -> TokenizerIdentities:
    """What a token corpus's codes need from a vocabulary (from its `vermo_tokens.json`)."""
    codec = info.get("codec")
    return TokenizerIdentities(
        motion=info["tokenizer"]["identity"],
        motion_size=int(info["tokenizer"]["codebook_size"]),
        audio=codec["identity"] if codec else NO_CODEC,
        audio_size=int(codec["codebook_size"]) if codec else 0,
    )


@dataclass
class PreparedStage:
    """A stage checked and ready to train: its recipe, vocabulary, examples and weights."""

    request: StageRequest
    recipe: LmTrainRecipe
    vocabulary: Vocabulary
    source: TaskExampleSource
    init_weights: Path | None
    corpus_info: dict[str, Any]


def prepare_stage(request: StageRequest) -> PreparedStage:
    """Check everything a stage needs (recipe kind, output directory, previous run, vocabulary
    against the token corpus, usable clips), then start the run folder (`start_run`).

    Under a launcher, rank 0 alone checks, builds the vocabulary and writes; the other ranks
    wait for it and then read the vocabulary it wrote, so the vocabulary is built once and no
    rank deletes another's files. A failure on rank 0 stops every rank with its message.
    """
    if launched():
        init_distributed()
    return rank_zero_first(
        lambda: start_run(_checked_stage(request)), lambda: _started_stage(request)
    )


def start_run(prepared: PreparedStage) -> PreparedStage:
    """Make `output` this run's folder: an old run removed (`--overwrite`), the vocabulary and
    `vermo_run.json` written. A resumed run keeps the vocabulary and record it started with
    (`prepare_stage` checked them), so a resume refused later, at the checkpoint, writes
    nothing."""
    request = prepared.request
    if request.resume:
        return prepared
    if request.overwrite:
        remove_run(request.output)
    request.output.mkdir(parents=True, exist_ok=True)
    prepared.vocabulary.save(request.output / VOCABULARY_DIR)
    counts = prepared.source.task_counts()
    _write_run_record(request, prepared.recipe, counts, prepared.corpus_info)
    return prepared


def train_stage(
    prepared: PreparedStage, progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Train a prepared stage; returns the loop's summary plus the examples per task and the
    exported model's path, and records in `vermo_run.json` (rank 0) which step the model is."""
    request, vocabulary = prepared.request, prepared.vocabulary
    counts = prepared.source.task_counts()
    summary = train_language_model(
        prepared.source,
        len(vocabulary),
        vocabulary.pad_id,
        prepared.recipe,
        request.output,
        init_weights=prepared.init_weights,
        resume=request.resume,
        progress=progress,
        model_files=vocabulary.save,
    )
    if is_rank_zero():
        _record_model(request.output, summary)
    barrier()
    return {**summary, "tasks": counts, "model": str(request.output / MODEL_DIR)}


def run_stage(request: StageRequest, progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Prepare and train one stage end to end."""
    return train_stage(prepare_stage(request), progress)


def _checked_stage(request: StageRequest) -> PreparedStage:
    """`prepare_stage`'s checks; builds the vocabulary (pretrain) or reads the previous one."""
    recipe = load_lm_recipe(request.recipe)
    if recipe.stage != request.stage:
        raise StageError(
            f"{request.recipe}: {_article(recipe.stage)} {recipe.stage} recipe, "
            f"but this is `vermo {request.stage}`"
        )
    _check_output(request)
    return _stage_with(
        request, recipe, lambda clips, needed: _starting_point(request, recipe, clips, needed)
    )


def _started_stage(request: StageRequest) -> PreparedStage:
    """The stage rank 0 prepared, read back on another rank: the vocabulary it wrote."""
    vocabulary = Vocabulary.load(request.output / VOCABULARY_DIR)
    return _stage_with(
        request,
        load_lm_recipe(request.recipe),
        lambda _clips, _needed: (vocabulary, _previous_model(request)),
    )


def _stage_with(
    request: StageRequest,
    recipe: LmTrainRecipe,
    starting_point: Callable[[list, TokenizerIdentities], tuple[Vocabulary, Path | None]],
) -> PreparedStage:
    """The stage's examples over the vocabulary and weights `starting_point(clips, needed)`
    gives."""
    tasks = load_tasks()
    task_names = stage_tasks(tasks, request.stage, request.task)
    if recipe.tasks:
        task_names = [name for name in task_names if name in recipe.tasks]
    clips, info = read_clips(request.data)
    vocabulary, init_weights = starting_point(clips, corpus_identities(info))
    source = TaskExampleSource(
        clips, tasks, task_names, vocabulary, request.stage, recipe.seed, recipe.task_repeats
    )
    return PreparedStage(request, recipe, vocabulary, source, init_weights, info)


def _check_output(request: StageRequest) -> None:
    """Refuse to mix runs: a non-empty output must be this stage's run, resumed; `--resume`
    needs a run with checkpoints there. Nothing is written before these checks pass."""
    output = request.output
    check_output_directory(output, beside=False)
    if request.resume and not (output / CHECKPOINTS_DIR).is_dir():
        raise StageError(
            f"{output}: nothing to resume (no {CHECKPOINTS_DIR}/); drop --resume to start"
        )
    if not output.exists() or not any(output.iterdir()):
        return
    if request.overwrite and not request.resume:
        check_replaceable_run(output)
        return
    if not request.resume:
        raise StageError(
            f"{output}: already holds a run (use --resume, --overwrite, or another -o)"
        )
    record = output / RUN_FILE
    if not record.is_file():
        raise StageError(f"{output}: not a vermo training run; cannot resume it")
    stage = json.loads(record.read_text()).get("stage")
    if stage != request.stage:
        raise StageError(f"{output}: holds a {stage} run, not {request.stage}")


def _starting_point(
    request: StageRequest,
    recipe: LmTrainRecipe,
    clips: list,
    needed: TokenizerIdentities,
) -> tuple[Vocabulary, Path | None]:
    """The vocabulary and the weights a stage starts from."""
    if request.resume and (request.output / VOCABULARY_DIR).is_dir():
        vocabulary = Vocabulary.load(request.output / VOCABULARY_DIR)
        vocabulary.check_built_for(needed.motion, needed.audio, str(request.output))
        return vocabulary, _previous_model(request)
    if request.stage == "pretrain":
        if request.previous is not None:
            raise StageError("pretrain starts from --init (a Hugging Face model), not --from")
        vocabulary = build_vocabulary(
            vocabulary_texts(clips, load_tasks()), needed, recipe.text_vocab_size, request.init
        )
        return vocabulary, request.init
    if request.init is not None:
        raise StageError(f"{request.stage} starts from a previous run (--from), not --init")
    model = _previous_model(request)
    assert model is not None
    vocabulary = Vocabulary.load(model)
    vocabulary.check_built_for(needed.motion, needed.audio, str(model))
    return vocabulary, model


def _previous_model(request: StageRequest) -> Path | None:
    """The exported model of the run this stage starts from (None for pretrain)."""
    if request.stage == "pretrain":
        return request.init
    expected = "pretrain" if request.stage == "sft" else "sft"
    if request.previous is None:
        raise StageError(f"{request.stage} needs --from, the output of a finished {expected} run")
    model = request.previous / MODEL_DIR
    if not model.is_dir():
        raise StageError(
            f"{request.previous}: no finished model ({MODEL_DIR}/ missing); "
            f"run or resume `vermo {expected}` first"
        )
    read_vocabulary_record(model)
    check_weight_files(model)
    record = request.previous / RUN_FILE
    if record.is_file():
        stage = json.loads(record.read_text()).get("stage")
        if request.stage == "specialize" and stage not in ("sft", "specialize"):
            raise StageError(f"{request.previous}: a {stage} run; specialize starts from sft")
    return model


def _write_run_record(
    request: StageRequest, recipe: LmTrainRecipe, tasks: dict[str, int], info: dict[str, Any]
) -> None:
    """`vermo_run.json`: what this run is, for `--resume` and for people reading the folder.
    Its paths are written by `files.path_for_record` (given relative: relative to the run)."""
    path = request.output / RUN_FILE

    def recorded(target: Path | None) -> str | None:
        return path_for_record(target, path) if target is not None else None

    record = {
        "stage": request.stage,
        "task": request.task,
        "recipe": recipe.model_dump(),
        "data": recorded(request.data),
        "token_corpus": {
            "tokenizer": info["tokenizer"]["identity"],
            "tokenizer_path": recorded(encoding_input(request.data, info, "tokenizer")),
            "codec": (info.get("codec") or {}).get("identity"),
            "codec_path": recorded(encoding_input(request.data, info, "codec")),
            "corpus": info["corpus"]["identity"],
        },
        "from": recorded(request.previous),
        "init": recorded(request.init),
        "examples_per_epoch": tasks,
    }
    write_json_atomically(path, record)


def _record_model(output: Path, summary: dict[str, Any]) -> None:
    """Add to `vermo_run.json` which step `model/` is, the best validation step and loss, and
    the recipe's export rule."""
    path = output / RUN_FILE
    record = json.loads(path.read_text())
    record.update(
        model_step=summary["model_step"],
        best_validation=summary["best_validation"],
        export=summary["export"],
    )
    write_json_atomically(path, record)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
