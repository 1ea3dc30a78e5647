"""A trained FlowVQ tokenizer on disk: motion `[agents, frames, 52, 3]` <-> codes `[agents, steps]`.

Directory layout: `recipe.yaml` (the recipe it was trained with), `tokenizer.json` (identity,
normalisation, joint set, training record), `stage1.safetensors` (encoder, quantizer and
stage-1 decoder) and, after stage 2, `flow.safetensors` (flow-matching decoder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from safetensors.torch import save_file

from vermo_cli.errors import VermoError
from vermo_cli.files import path_from_record, write_atomically
from vermo_cli.motion.skeleton import JOINT_NAMES
from vermo_cli.tokenizers.flowvq.features import MotionNormalizer, root_correction, root_path
from vermo_cli.tokenizers.flowvq.flow_decoder import FlowMatchingDecoder, sample_motion
from vermo_cli.tokenizers.flowvq.recipe import FlowVQRecipe, load_flowvq_recipe
from vermo_cli.tokenizers.flowvq.vqvae import MotionVqVae
from vermo_cli.weights import file_sha256, read_safetensors

TOKENIZER_FORMAT = "vermo-flowvq"
INFO_NAME = "tokenizer.json"
STAGE1_WEIGHTS = "stage1.safetensors"
FLOW_WEIGHTS = "flow.safetensors"
RECIPE_NAME = "recipe.yaml"

Decoder = Literal["flow", "vqvae"]


class TokenizerError(VermoError):
    """A tokenizer directory is missing, incomplete, or does not fit the data it is used on."""


def weights_digest(path: Path) -> str:
    """sha256 (hex) of a weights file."""
    return file_sha256(path).hexdigest()


def tokenizer_identity(weights: Path, normalizer: MotionNormalizer, recipe: FlowVQRecipe) -> str:
    """16 hex digits that change whenever the codes a tokenizer emits could change: a hash of
    the stage-1 weights file `weights` (read in chunks, once per load: about a second per GB),
    the normalisation and the autoencoder's architecture. The flow decoder does not enter it:
    it changes decoded motion, never codes."""
    digest = file_sha256(weights)
    digest.update(json.dumps(normalizer.to_json()).encode())
    # Tokenizers from before root anchoring keep their identity: the setting enters when on.
    unset = {"root_anchor_iterations"} if not recipe.vqvae.root_anchor_iterations else None
    digest.update(recipe.vqvae.model_dump_json(exclude=unset).encode())
    return digest.hexdigest()[:16]


class FlowVQTokenizer:
    """Encoder, quantizer and both decoders, with the normalisation they were trained on."""

    def __init__(
        self,
        directory: Path,
        recipe: FlowVQRecipe,
        info: dict[str, Any],
        vqvae: MotionVqVae,
        flow: FlowMatchingDecoder | None,
        identity: str,
    ) -> None:
        self.directory = directory
        self.recipe = recipe
        self.info = info
        self.normalizer = MotionNormalizer.from_json(info["normalizer"])
        self.vqvae = vqvae.eval()
        self.flow = flow.eval() if flow is not None else None
        self.device = next(vqvae.parameters()).device
        self.identity = identity
        """Changes whenever the codes could change (weights, normalisation, architecture):
        `tokenizer_identity` of the loaded weights file, never read from `tokenizer.json`."""

    @property
    def compression(self) -> int:
        """Frames per code."""
        return self.recipe.vqvae.compression

    @property
    def codebook_size(self) -> int:
        """Distinct codes per step."""
        return self.recipe.vqvae.quantizer.size

    @property
    def corpus_path(self) -> Path:
        """The corpus the tokenizer was trained on, as `tokenizer.json` records it (a relative
        record read against the tokenizer's folder)."""
        return path_from_record(self.info["corpus"]["path"], self.directory / INFO_NAME)

    @property
    def trained_joint_mask(self) -> np.ndarray:
        """`[52]` bool: joints that had valid data in training (others decode to noise)."""
        return np.asarray(self.info["trained_joint_mask"], dtype=bool)

    @classmethod
    def load(cls, directory: Path, device: str | torch.device = "cpu") -> FlowVQTokenizer:
        """Load a tokenizer directory written by `vermo tokenize fit`; `TokenizerError` when a
        weights file changed since `tokenizer.json` was written (see `_verified_identity`)."""
        directory = Path(directory)
        info_path = directory / INFO_NAME
        if not info_path.is_file() or not (directory / STAGE1_WEIGHTS).is_file():
            raise TokenizerError(
                f"{directory}: not a trained FlowVQ tokenizer (run `vermo tokenize fit` first)"
            )
        info = json.loads(info_path.read_text())
        if info.get("format") != TOKENIZER_FORMAT:
            raise TokenizerError(f"{info_path}: not a FlowVQ tokenizer ({info.get('format')!r})")
        if info.get("joint_names") != list(JOINT_NAMES):
            raise TokenizerError(f"{directory}: tokenizer was trained on another joint set")
        recipe = load_flowvq_recipe(directory / RECIPE_NAME)
        # Read first, so that a file cut short is reported as such, not as changed weights.
        stage1_state = read_safetensors(directory / STAGE1_WEIGHTS)
        has_flow = (directory / FLOW_WEIGHTS).is_file()
        flow_state = read_safetensors(directory / FLOW_WEIGHTS) if has_flow else None
        identity = _verified_identity(directory, info, recipe)
        vqvae = MotionVqVae(recipe.vqvae)
        vqvae.load_state_dict(stage1_state)
        flow = None
        if flow_state is not None:
            flow = FlowMatchingDecoder(
                recipe.flow, recipe.vqvae.width, recipe.vqvae.compression, recipe.vqvae.channels
            )
            flow.load_state_dict(flow_state)
            flow.to(device)
        return cls(directory, recipe, info, vqvae.to(device), flow, identity)

    def check_joint_set(self, joint_names: list[str], what: str) -> None:
        """`TokenizerError` if data described by `joint_names` uses another skeleton."""
        if list(joint_names) != list(JOINT_NAMES):
            raise TokenizerError(
                f"{what}: its joint set ({len(joint_names)} joints) differs from the tokenizer's"
            )

    def _padded_features(self, joints: np.ndarray, joint_mask: np.ndarray) -> torch.Tensor:
        frames = joints.shape[1]
        padded = -(-frames // self.compression) * self.compression
        features = self.normalizer.normalize(joints, joint_mask)
        if padded > frames:
            edge = np.repeat(features[:, -1:], padded - frames, axis=1)
            features = np.concatenate([features, edge], axis=1)
        return torch.from_numpy(features).to(self.device)

    def _anchored_quantize(
        self, joints: np.ndarray, joint_mask: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantized latents `[agents, width, steps]` and codes `[agents, steps(, quantizers)]`
        of motion `[agents, frames, 52, 3]`.

        With `root_anchor_iterations` n > 0 (`trajectory` or `velocity` features) encoding is
        closed-loop: the stage-1 decoder's root path is compared with the motion's, the input's root
        channels are moved by the accumulated error (`root_correction`) and encoded again, n
        times; each person keeps the codes whose decoded path lies closest on average (so never
        farther than plain encoding's). The integrated root velocity drifts by its quantisation
        error (millimetres a frame, metres over a 12 s take); feeding the error back lets later
        codes cancel it, as error diffusion does for a dithered image. Decoding is unchanged."""
        features = self._padded_features(joints, joint_mask)
        quantized, codes, _ = self.vqvae.quantize(features)
        iterations = self.recipe.vqvae.root_anchor_iterations
        if not iterations or self.normalizer.kind == "positions":
            return quantized, codes
        target = _edge_padded(root_path(joints), features.shape[1])
        offset = np.zeros_like(target)
        best_quantized, best_codes = quantized, codes
        best_error = np.full(len(target), np.inf)
        for iteration in range(iterations + 1):
            decoded = self.normalizer.denormalize(
                self.vqvae.decode_latents(quantized).cpu().numpy()
            )
            error = target - root_path(decoded)
            mean_error = np.linalg.norm(error, axis=-1).mean(axis=-1)
            better = torch.as_tensor(mean_error < best_error, device=self.device)
            best_quantized = torch.where(better[:, None, None], quantized, best_quantized)
            best_codes = torch.where(better.view(-1, *[1] * (codes.ndim - 1)), codes, best_codes)
            best_error = np.minimum(best_error, mean_error)
            if iteration < iterations:
                offset = offset + error
                correction = torch.from_numpy(root_correction(offset, self.normalizer))
                quantized, codes, _ = self.vqvae.quantize(features + correction.to(self.device))
        return best_quantized, best_codes

    @torch.no_grad()
    def encode(self, joints: np.ndarray, joint_mask: np.ndarray) -> np.ndarray:
        """Codes `[agents, ceil(frames / compression)]` int64 of motion `[agents, frames, 52, 3]`
        (metres, canonical frame); agents are tokenized independently. The last code covers a
        partial window when frames is not a multiple of the compression (edge-padded)."""
        if self.recipe.vqvae.quantizer.kind == "rvq":
            raise TokenizerError(
                f"{self.directory}: an rvq tokenizer emits several codes per step; the language "
                "model needs one token per step (use fsq or vq)"
            )
        _, codes = self._anchored_quantize(joints, joint_mask)
        return codes.cpu().numpy().astype(np.int64)

    def _decode_latents(
        self, latents: torch.Tensor, frames: int, decoder: Decoder, steps: int | None, seed: int
    ) -> np.ndarray:
        if decoder == "flow":
            if self.flow is None:
                raise TokenizerError(
                    f"{self.directory}: no flow decoder (train stage 2, or use --decoder vqvae)"
                )
            generator = torch.Generator().manual_seed(seed)
            padded = latents.shape[-1] * self.compression
            window = self.recipe.stage2.crop_frames
            prior = self.vqvae.decode_latents(latents) if self.flow.prior_in is not None else None
            features = sample_motion(
                self.flow, latents, padded, steps, generator, window_frames=window, prior=prior
            )
        else:
            features = self.vqvae.decode_latents(latents)
        return self.normalizer.denormalize(features[:, :frames].cpu().numpy())

    @torch.no_grad()
    def decode(
        self,
        codes: np.ndarray,
        frames: int | None = None,
        decoder: Decoder = "flow",
        flow_steps: int | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """Motion `[agents, frames, 52, 3]` metres from codes `[agents, steps]`; `frames`
        defaults to steps x compression. The flow decoder samples from seeded noise."""
        codes_tensor = torch.as_tensor(np.asarray(codes), dtype=torch.long, device=self.device)
        if codes_tensor.ndim != 2:
            raise TokenizerError(
                f"codes must be [agents, steps], got shape {tuple(codes_tensor.shape)}"
            )
        if codes_tensor.numel() and (
            codes_tensor.min() < 0 or codes_tensor.max() >= self.codebook_size
        ):
            raise TokenizerError(f"codes must lie in 0..{self.codebook_size - 1}")
        frames = frames or codes_tensor.shape[1] * self.compression
        latents = self.vqvae.quantizer.codes_to_latents(codes_tensor)
        return self._decode_latents(latents, frames, decoder, flow_steps, seed)

    @torch.no_grad()
    def reconstruct(
        self,
        joints: np.ndarray,
        joint_mask: np.ndarray,
        decoder: Decoder = "flow",
        flow_steps: int | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """Encode and decode `[agents, frames, 52, 3]` (works for rvq tokenizers too)."""
        quantized, _ = self._anchored_quantize(joints, joint_mask)
        return self._decode_latents(quantized, joints.shape[1], decoder, flow_steps, seed)


def _edge_padded(path: np.ndarray, frames: int) -> np.ndarray:
    """`[agents, n, 2]` -> `[agents, frames, 2]`, the last frame repeated (as the features are)."""
    return np.concatenate([path, np.repeat(path[:, -1:], frames - path.shape[1], axis=1)], axis=1)


def _verified_identity(directory: Path, info: dict[str, Any], recipe: FlowVQRecipe) -> str:
    """The identity computed from `stage1.safetensors`; `TokenizerError` naming the file unless
    the weights are those `tokenizer.json` was written for: that identity must be the recorded
    one, and `flow.safetensors` must have the recorded sha256 (tokenizers written before vermo
    recorded it have none to compare)."""
    stage1 = directory / STAGE1_WEIGHTS
    identity = tokenizer_identity(stage1, MotionNormalizer.from_json(info["normalizer"]), recipe)
    if identity != info.get("identity"):
        raise TokenizerError(
            f"{stage1}: weights changed since {INFO_NAME} was written (identity {identity}, "
            f"recorded {info.get('identity')}; the vqvae section of {RECIPE_NAME} and the "
            "normalisation count too); restore them or retrain the tokenizer"
        )
    recorded = info.get("stages", {}).get("2", {}).get("weights_sha256")
    flow = directory / FLOW_WEIGHTS
    if recorded is not None and (not flow.is_file() or weights_digest(flow) != recorded):
        raise TokenizerError(
            f"{flow}: weights changed since {INFO_NAME} was written; restore them or retrain "
            "stage 2"
        )
    return identity


def save_module(module: torch.nn.Module, path: Path) -> None:
    """Write a module's weights as safetensors, atomically."""
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()
    }
    write_atomically(path, lambda temporary: save_file(state, str(temporary)))
