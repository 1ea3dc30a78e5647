"""`vermo tokenize decode`: codes from a token corpus or a file, decoded to a motion `.npz`."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.motion.npz import save_motion_npz
from vermo_cli.tokenizers.flowvq.tokenizer import Decoder, FlowVQTokenizer, TokenizerError
from vermo_cli.tokenizers.token_corpus import TOKENS_SIDECAR, open_token_corpus


def read_codes(source: Path, clip: str | None) -> tuple[np.ndarray, int | None, str | None]:
    """Codes `[agents, steps]`, the clip's frame count (if known) and the tokenizer identity
    that made them (if known), from a token corpus (`clip` required) or a .npy/.txt file."""
    source = Path(source)
    if (source / TOKENS_SIDECAR).is_file():
        if clip is None:
            raise VermoError(f"{source}: a token corpus needs --clip ID")
        clips, info = open_token_corpus(source)
        matches = clips.filter(lambda value: value == clip, input_columns="id", keep_in_memory=True)
        if len(matches) == 0:
            raise VermoError(f"{source}: no clip with id '{clip}'")
        row = matches[0]
        return np.asarray(row["motion_tokens"]), int(row["frames"]), info["tokenizer"]["identity"]
    if not source.is_file():
        raise VermoError(f"{source}: no such token file or token corpus")
    try:
        if source.suffix == ".npy":
            codes = np.load(source, allow_pickle=False)
            if not isinstance(codes, np.ndarray):
                raise ValueError("not a .npy array")
        else:
            codes = np.array(
                [
                    [int(v) for v in line.split()]
                    for line in source.read_text().splitlines()
                    if line.strip()
                ]
            )
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise VermoError(f"{source}: cannot read codes ({error})") from None
    codes = np.atleast_2d(codes)
    if codes.ndim != 2 or codes.size == 0:
        raise VermoError(f"{source}: codes must be [agents, steps] integers")
    return codes.astype(np.int64), None, None


def decode_to_npz(
    tokenizer_path: Path,
    source: Path,
    output: Path,
    clip: str | None = None,
    decoder: Decoder = "flow",
    flow_steps: int | None = None,
    seed: int = 0,
) -> tuple[int, int]:
    """Decode and write `output`; returns (agents, frames)."""
    tokenizer = FlowVQTokenizer.load(tokenizer_path)
    codes, frames, identity = read_codes(source, clip)
    if identity is not None and identity != tokenizer.identity:
        raise TokenizerError(
            f"{source}: encoded by tokenizer {identity}, not by {tokenizer_path} "
            f"({tokenizer.identity})"
        )
    joints = tokenizer.decode(codes, frames, decoder, flow_steps, seed)
    save_motion_npz(
        output,
        joints,
        tokenizer.trained_joint_mask,
        tokens=codes,
        task="tokenize-decode",
        prompt=clip or str(source),
    )
    return joints.shape[0], joints.shape[1]
