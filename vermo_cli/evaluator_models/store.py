"""A trained evaluator on disk: file names, the info JSON, identity, weights and errors.

Directory layout (written atomically: a staging directory beside it, renamed at the end):
  evaluator.json       kind, format version, identity, recipe, training corpus, validation
  model.safetensors    every weight, with the feature normalisation (mean and std buffers)
  train.csv            step, loss, learning rate of the run
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from vermo_cli.errors import VermoError
from vermo_cli.weights import file_sha256

EVALUATOR_FORMAT = "vermo-evaluator"
EVALUATOR_VERSION = 1
"""Bumped whenever features, networks or training change what an evaluator measures."""
INFO_NAME = "evaluator.json"
WEIGHTS_NAME = "model.safetensors"
LOG_NAME = "train.csv"


class EvaluatorError(VermoError):
    """An evaluator cannot be trained on a corpus, or a directory is not a usable evaluator."""


def save_weights(module: torch.nn.Module, path: Path) -> None:
    """Write a module's parameters and buffers as safetensors."""
    state = {name: value.detach().cpu().contiguous() for name, value in module.state_dict().items()}
    save_file(state, str(path))


def evaluator_identity(weights: Path, recipe: dict[str, Any], text_model: str | None) -> str:
    """16 hex digits that change whenever the embeddings could change: the weights file (with
    the normalisation; read in chunks, once per load: about a second per GB), the architecture
    and the text model's identity."""
    digest = file_sha256(weights)
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    digest.update(f"v{EVALUATOR_VERSION} {text_model}".encode())
    return digest.hexdigest()[:16]


def check_identity(directory: Path, info: dict[str, Any]) -> None:
    """`EvaluatorError` naming the weights file unless the identity computed from it (with the
    recipe and text model) is the one `evaluator.json` records: the weights changed since it
    was written."""
    weights = Path(directory) / WEIGHTS_NAME
    identity = evaluator_identity(weights, info["recipe"], info.get("text_model"))
    if identity != info.get("identity"):
        raise EvaluatorError(
            f"{weights}: weights changed since {INFO_NAME} was written (identity {identity}, "
            f"recorded {info.get('identity')}); restore them or retrain the evaluator"
        )


def clip_ids_identity(clip_ids: list[str]) -> str:
    """16 hex digits of the sorted clip ids an evaluator was trained on."""
    return hashlib.sha256("\n".join(sorted(clip_ids)).encode()).hexdigest()[:16]


def summary_line(info: dict[str, Any]) -> str:
    """One line for reports: `evaluator text-motion v1 <identity> trained on <corpus identity>`,
    with the variant after it for text-motion evaluators."""
    line = (
        f"evaluator {info['kind']} v{info['version']} {info['identity']} "
        f"trained on {info['corpus']['identity']}"
    )
    return f"{line} ({info['variant']})" if info.get("variant") else line


def read_info(directory: Path) -> dict[str, Any]:
    """The info JSON of an evaluator directory; `EvaluatorError` if it is not one."""
    directory = Path(directory)
    path = directory / INFO_NAME
    if not path.is_file() or not (directory / WEIGHTS_NAME).is_file():
        raise EvaluatorError(
            f"{directory}: not a trained evaluator (no {INFO_NAME} and {WEIGHTS_NAME}); "
            "train one with `vermo eval fit-evaluator`"
        )
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise EvaluatorError(f"{path}: unreadable ({error.msg})") from error
    if info.get("format") != EVALUATOR_FORMAT:
        raise EvaluatorError(f"{path}: not a vermo evaluator (format {info.get('format')!r})")
    if info.get("version") != EVALUATOR_VERSION:
        raise EvaluatorError(
            f"{directory}: evaluator format v{info.get('version')}, this vermo reads "
            f"v{EVALUATOR_VERSION}; retrain it"
        )
    return info
