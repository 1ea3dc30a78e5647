"""The `synthetic` source: a licence-free corpus of actions, interactions, dances and speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from vermo_plugins.sources.synthetic.actions import ACTIONS, FPS
from vermo_plugins.sources.synthetic.captions import describe
from vermo_plugins.sources.synthetic.interactions import INTERACTIONS
from vermo_plugins.sources.synthetic.music import SAMPLE_RATE, dance_take
from vermo_plugins.sources.synthetic.rig import animate, random_body
from vermo_plugins.sources.synthetic.speech import speech_take

from vermo_cli.data.sources import MotionSource
from vermo_cli.errors import SourceError
from vermo_cli.motion.clip import AudioTrack, Caption, SourceClip, Word
from vermo_cli.motion.skeleton import full_mask

CLIPS_PER_CHUNK: int = 25
DATASET: str = "synthetic"
# Clips of each kind in every block of 100: the mix of the corpus.
_MIX: dict[str, int] = {"action": 60, "interaction": 15, "dance": 12, "speech": 13}
SINGLE_ACTIONS: tuple[str, ...] = (*ACTIONS, "dance")


def _schedule() -> tuple[tuple[str, int], ...]:
    """Kinds of the 100 clips of a block, each kind spread evenly, with each clip's rank in its
    kind within the block."""
    slots = sorted(
        ((index + 0.5) / count, kind) for kind, count in _MIX.items() for index in range(count)
    )
    ranks: dict[str, int] = dict.fromkeys(_MIX, 0)
    schedule = []
    for _, kind in slots:
        schedule.append((kind, ranks[kind]))
        ranks[kind] += 1
    return tuple(schedule)


_SCHEDULE = _schedule()


def clip_kind(index: int) -> tuple[str, int]:
    """Kind of clip `index` (`action`, `interaction`, `dance`, `speech`) and its ordinal among
    the clips of that kind, so that actions and interactions cycle through all their names."""
    kind, rank = _SCHEDULE[index % len(_SCHEDULE)]
    return kind, (index // len(_SCHEDULE)) * _MIX[kind] + rank


def _start(rng: np.random.Generator) -> tuple[float, float]:
    return float(rng.uniform(-2.0, 2.0)), float(rng.uniform(-2.0, 2.0))


def make_clip(seed: int, index: int) -> SourceClip:
    """Clip `index` of the corpus with `seed`; it depends on nothing else."""
    rng = np.random.default_rng([seed, index])
    kind, ordinal = clip_kind(index)
    audio: AudioTrack | None = None
    words: list[Word] = []
    if kind == "action":
        name = SINGLE_ACTIONS[ordinal % len(SINGLE_ACTIONS)]
        if name == "dance":
            take = dance_take(rng, with_music=False)
            act, caption_key = take.act, "dance"
        else:
            act, caption_key = ACTIONS[name](rng), name
    elif kind == "interaction":
        name = tuple(INTERACTIONS)[ordinal % len(INTERACTIONS)]
        pair = INTERACTIONS[name](rng)
        return _clip(
            index, name, pair.joints, pair.tags, describe(name, pair.manner, rng), None, []
        )
    elif kind == "dance":
        take = dance_take(rng)
        act, name, caption_key = take.act, "dance", "dance to music"
        audio = AudioTrack(take.waveform, SAMPLE_RATE, "music", genre=take.genre)
    else:
        speech = speech_take(rng)
        act, name, caption_key = speech.act, "speech", "speech"
        audio = AudioTrack(speech.waveform, SAMPLE_RATE, "speech")
        words = speech.words
    act.channels["yaw"] = act.channels["yaw"] + rng.uniform(-180.0, 180.0)
    joints = animate(random_body(rng), act.channels, FPS, start=_start(rng), flights=act.flights)
    captions = describe(caption_key, act.manner, rng)
    return _clip(index, name, joints[None], act.tags, captions, audio, words)


def _clip(
    index: int,
    name: str,
    joints: np.ndarray,
    tags: list[str],
    captions: list[Caption],
    audio: AudioTrack | None,
    words: list[Word],
) -> SourceClip:
    """Wrap generated `joints` `[agents, frames, 52, 3]` (metres, 30 fps) as a source clip."""
    slug = name.replace(" ", "-")
    return SourceClip(
        take_id=f"{DATASET}/{index:05d}-{slug}",
        dataset=DATASET,
        joints=joints,
        fps=FPS,
        joint_mask=full_mask(),
        captions=captions,
        audio=audio,
        words=words,
        tags=[f"action:{name}", *tags],
        origin=f"generated clip {index}",
    )


class SyntheticSource(MotionSource):
    """Generates the embedded corpus: `options.clips` clips from `options.seed`, in chunks."""

    name = "synthetic"
    summary = (
        "licence-free generated corpus: 12 actions, 5 two-person interactions, dances to "
        "synthesized music, speech-like audio with gestures (no input paths)"
    )
    takes_paths = False

    def discover(self, paths: list[Path]) -> list[str]:
        """Work items `chunk-NNNN`, each of up to 25 clip indices."""
        if paths:
            raise SourceError(f"synthetic: takes no input paths, got {paths[0]}")
        if self.options.clips < 1:
            raise SourceError(f"--clips: must be at least 1, got {self.options.clips}")
        chunks = -(-self.options.clips // CLIPS_PER_CHUNK)
        return [f"chunk-{chunk:04d}" for chunk in range(chunks)]

    def load(self, item: str) -> list[SourceClip]:
        """The clips of one chunk, generated from the seed and their indices."""
        prefix, _, number = item.partition("-")
        if prefix != "chunk" or not number.isdigit():
            raise SourceError(f"synthetic: '{item}' is not a work item of this source")
        first = int(number) * CLIPS_PER_CHUNK
        last = min(first + CLIPS_PER_CHUNK, self.options.clips)
        return [make_clip(self.options.seed, index) for index in range(first, last)]
