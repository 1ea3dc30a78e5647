"""`vermo pretrain | sft | specialize` end to end on a small synthetic token corpus, through the
DeepSpeed ZeRO-3 code path on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import torch
from conftest import CodeRunningPayload, cli_error, run_cli
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from vermo_cli.tokenizers.vocabulary import Vocabulary, train_text_tokenizer

pytestmark = pytest.mark.slow


def invoke(*args: object) -> str:
    return " ".join(run_cli(*args).split())


one_line_error = cli_error


@pytest.fixture(scope="module")
def workspace(token_workspace: Path) -> Path:
    return token_workspace


def test_three_stages_train_export_and_chain(workspace: Path) -> None:
    root = workspace
    output = invoke(
        "pretrain", "--data", root / "tokens", "--recipe", root / "pretrain.yaml",
        "-o", root / "pretrain",
    )  # fmt: skip
    assert "pretrain: 4 steps" in output and "m2d" in output and "n2tm" in output
    model_dir = root / "pretrain" / "model"
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    vocabulary = Vocabulary.load(model_dir)
    assert model.get_input_embeddings().weight.shape[0] == len(vocabulary) == len(tokenizer)
    sidecar = json.loads((root / "tokens" / "vermo_tokens.json").read_text())
    assert vocabulary.built_for.motion == sidecar["tokenizer"]["identity"]
    assert vocabulary.built_for.audio == sidecar["codec"]["identity"]
    with torch.no_grad():
        logits = model(torch.tensor([[vocabulary.id_of("<|bos|>")]])).logits
    assert logits.shape[-1] == len(vocabulary)
    csv = (root / "pretrain" / "logs" / "train.csv").read_text().splitlines()
    assert len(csv) == 1 + 4

    output = invoke(
        "sft", "--data", root / "tokens", "--recipe", root / "sft.yaml", "--from",
        root / "pretrain", "-o", root / "sft",
    )  # fmt: skip
    assert "sft: 2 steps" in output and "n2tm" not in output and "btwn" in output
    record = json.loads((root / "sft" / "vermo_run.json").read_text())
    assert record["model_step"] == 2 and record["export"] == "last"
    assert record["best_validation"]["step"] == 2
    assert "model: step 2, the best validation loss" in output
    assert json.loads((root / "sft" / "model" / "vermo_model.json").read_text())["step"] == 2
    output = invoke(
        "specialize", "t2m", "--data", root / "tokens", "--recipe", root / "specialize.yaml",
        "--from", root / "sft", "-o", root / "t2m",
    )  # fmt: skip
    assert "examples per epoch: t2m" in output
    run = json.loads((root / "t2m" / "vermo_run.json").read_text())
    assert run["stage"] == "specialize" and run["task"] == "t2m"


def test_stage_mistakes_are_one_line_errors(workspace: Path, tmp_path: Path) -> None:
    root = workspace
    tokens, sft = root / "tokens", root / "sft.yaml"
    assert "a sft recipe, but this is `vermo pretrain`" in one_line_error(
        "pretrain", "--data", tokens, "--recipe", sft, "-o", tmp_path / "a"
    )
    assert "sft needs --from" in one_line_error(
        "sft", "--data", tokens, "--recipe", sft, "-o", tmp_path / "b"
    )
    assert "no finished model" in one_line_error(
        "sft", "--data", tokens, "--recipe", sft, "--from", tmp_path, "-o", tmp_path / "c"
    )
    assert "unknown task 'dance'" in one_line_error(
        "specialize", "dance", "--data", tokens, "--recipe", root / "specialize.yaml",
        "--from", root / "sft", "-o", tmp_path / "d",
    )  # fmt: skip
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert "refusing to overwrite" in one_line_error(
        "pretrain", "--data", tokens, "--recipe", root / "pretrain.yaml", "-o",
        tmp_path / "mine", "--overwrite",
    )  # fmt: skip
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_resume_refuses_a_crafted_checkpoint_in_one_line(workspace: Path, tmp_path: Path) -> None:
    root = workspace
    args = ("pretrain", "--data", root / "tokens", "--recipe", root / "pretrain.yaml")
    invoke(*args, "-o", tmp_path / "run")
    state_file = tmp_path / "run/checkpoints/step4/zero_pp_rank_0_mp_rank_00_model_states.pt"
    marker = tmp_path / "marker"
    torch.save({"module": CodeRunningPayload(marker)}, state_file)
    message = one_line_error(*args, "-o", tmp_path / "run", "--resume")
    assert message.startswith(f"error: {state_file}: not loaded: it names posix.system")
    assert not marker.exists()


def test_a_corpus_from_another_tokenizer_is_refused(workspace: Path, tmp_path: Path) -> None:
    """sft on tokens made by a different FlowVQ tokenizer than the pretrained vocabulary's."""
    root = workspace
    if not (root / "pretrain" / "model").is_dir():
        pytest.skip("needs the pretrain run of test_three_stages_train_export_and_chain")
    other = tmp_path / "tokens"
    rows = datasets.load_from_disk(str(root / "tokens"))
    rows.save_to_disk(str(other))
    sidecar = json.loads((root / "tokens" / "vermo_tokens.json").read_text())
    sidecar["tokenizer"]["identity"] = "someone-else"
    (other / "vermo_tokens.json").write_text(json.dumps(sidecar))
    message = one_line_error(
        "sft", "--data", other, "--recipe", root / "sft.yaml", "--from", root / "pretrain",
        "-o", tmp_path / "sft",
    )  # fmt: skip
    assert "built for FlowVQ tokenizer" in message and "someone-else" in message


def test_pretrain_from_a_local_hugging_face_model(workspace: Path, tmp_path: Path) -> None:
    """`--init DIR`: the model's own tokenizer becomes the text part of the vocabulary and its
    weights the starting point, with embeddings resized for vermo's tokens."""
    init = tmp_path / "tiny-llama"
    text = train_text_tokenizer(["a person walks", "two people hug", "hello there"] * 20, 280)
    text.save_pretrained(str(init))
    config = LlamaConfig(
        vocab_size=len(text), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(str(init))
    invoke(
        "pretrain", "--data", workspace / "tokens", "--recipe", workspace / "pretrain.yaml",
        "--init", init, "-o", tmp_path / "run",
    )  # fmt: skip
    vocabulary = Vocabulary.load(tmp_path / "run" / "model")
    assert vocabulary.text_size == len(text) and "tokenizer of" in vocabulary.origin
    assert vocabulary.init == init  # given absolute, recorded absolute
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "run" / "model")
    assert model.get_input_embeddings().weight.shape[0] == len(vocabulary) > len(text)
    assert "no usable tokenizer" in one_line_error(
        "pretrain", "--data", workspace / "tokens", "--recipe", workspace / "pretrain.yaml",
        "--init", tmp_path, "-o", tmp_path / "run2",
    )  # fmt: skip


def test_recipe_overrides_change_the_run_and_are_recorded(workspace: Path, tmp_path: Path) -> None:
    root = workspace
    args = ("pretrain", "--data", root / "tokens", "--recipe", root / "pretrain.yaml")
    output = invoke(*args, "--set", "training.steps=2", "--set", "seed=5", "-o", tmp_path / "run")
    assert "pretrain: 2 steps" in output
    recipe = json.loads((tmp_path / "run" / "vermo_run.json").read_text())["recipe"]
    assert recipe["training"]["steps"] == 2 and recipe["seed"] == 5
    message = one_line_error(*args, "--set", "training.stepz=2", "-o", tmp_path / "other")
    assert "training.stepz" in message and "no such recipe key" in message
    assert not (tmp_path / "other").exists()
