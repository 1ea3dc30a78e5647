"""The `bvh` source: BVH takes of known (or user-mapped) skeletons as SMPL-H clips with captions.

Skeletons are recognised by joint names (`bvh_skeletons.yaml`: LAFAN1, Bandai Namco, CMU, Xia,
BEAT); `--joint-map FILE.yaml` maps any other. Each file becomes one `SourceClip` in metres,
y up, at the file's frame rate; dataset labels in file names become captions and tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from vermo_cli.data.sources import MotionSource
from vermo_cli.errors import SourceError
from vermo_cli.motion.bvh import read_bvh
from vermo_cli.motion.bvh_skeletons import (
    identify_skeleton,
    load_joint_map,
    to_metres_y_up,
)
from vermo_cli.motion.clip import Caption, SourceClip
from vermo_cli.motion.retarget import retarget_positions, validate_joint_map

_SUBJECTS = ("a person", "someone", "the person")


@dataclass
class RetargetedBvh:
    """A BVH take on the SMPL-H joint set: `joints` `[T, 52, 3]` float32 metres, y up,
    right-handed; `fps` frames per second; `joint_mask` `[52]` bool; `skeleton` the name of the
    built-in skeleton or joint map used; `dataset` the source it belongs to."""

    joints: np.ndarray
    fps: float
    joint_mask: np.ndarray
    skeleton: str
    dataset: str


def load_bvh_as_smplh(path: Path, joint_map_file: Path | None = None) -> RetargetedBvh:
    """Read a BVH file and retarget it onto SMPL-H (metres, y up) with the given joint map, or
    the built-in map its joint names identify. Raises `SourceError` / `UnknownSkeletonError`."""
    path = Path(path)
    motion = read_bvh(path)
    spec = (
        load_joint_map(joint_map_file)
        if joint_map_file is not None
        else identify_skeleton(motion.joint_names, path)
    )
    validate_joint_map(spec.joints, motion.joint_names, f"{path} ({spec.name} joint map)")
    positions = to_metres_y_up(motion.positions(), spec)
    joints, mask = retarget_positions(positions, motion.joint_names, spec.joints)
    return RetargetedBvh(
        joints=joints, fps=motion.fps, joint_mask=mask, skeleton=spec.name, dataset=spec.dataset
    )


# --- dataset labels -> captions and tags -------------------------------------------------------

# Bandai Namco contents (Motiondataset-1 and -2): three verb phrases each, paraphrases of one
# another, that complete "a person ...".
_BANDAI_CONTENTS: dict[str, tuple[str, str, str]] = {
    "walk": ("walks", "walks forward", "takes a walk"),
    "run": ("runs", "runs forward", "jogs ahead"),
    "dash": ("dashes forward", "sprints ahead", "dashes at full speed"),
    "walk-back": ("walks backwards", "walks backward", "steps backwards"),
    "walk-left": ("walks to the left", "walks sideways to the left", "moves to the left on foot"),
    "walk-right": (
        "walks to the right",
        "walks sideways to the right",
        "moves to the right on foot",
    ),
    "walk-turn-left": ("walks and turns left", "turns left while walking", "walks, turning left"),
    "walk-turn-right": (
        "walks and turns right",
        "turns right while walking",
        "walks, turning right",
    ),
    "bow": ("bows", "takes a bow", "bows forward politely"),
    "bye": ("waves goodbye", "waves a hand to say goodbye", "waves farewell"),
    "byebye": ("waves bye-bye", "waves a hand back and forth to say bye-bye", "waves goodbye"),
    "guide": ("guides someone the way", "gestures to show the way", "points the way with an arm"),
    "respond": ("responds with a gesture", "reacts to someone", "answers someone with a gesture"),
    "call": ("calls someone over", "beckons someone to come", "waves someone over"),
    "punch": ("punches", "throws a punch", "punches forward"),
    "kick": ("kicks", "throws a kick", "kicks forward"),
    "slash": ("slashes with a sword", "swings a blade", "makes a slashing attack"),
    "dance": ("dances", "dances in place", "performs a dance"),
    "dance-long": ("dances", "performs a long dance", "dances for a while"),
    "dance-short": ("dances", "performs a short dance", "does a short dance"),
    "wave-both-hands": ("waves both hands", "waves with both hands", "waves both arms"),
    "wave-left-hand": ("waves the left hand", "waves with the left hand", "waves a left hand"),
    "wave-right-hand": ("waves the right hand", "waves with the right hand", "waves a right hand"),
    "raise-up-both-hands": ("raises both hands", "raises both arms up", "lifts both hands up"),
    "raise-up-left-hand": ("raises the left hand", "raises the left arm up", "lifts a left hand"),
    "raise-up-right-hand": (
        "raises the right hand",
        "raises the right arm up",
        "lifts a right hand",
    ),
}

# Bandai Namco styles: three manner phrases each, placed after the verb phrase.
_BANDAI_STYLES: dict[str, tuple[str, str, str]] = {
    "normal": ("in a neutral way", "normally", "in an ordinary manner"),
    "happy": ("cheerfully", "happily", "in a joyful way"),
    "sad": ("sadly", "in a sorrowful way", "with a sad, drooping posture"),
    "angry": ("angrily", "in an angry way", "furiously"),
    "proud": ("proudly", "with a proud bearing", "in a proud, confident manner"),
    "not-confident": ("timidly", "without confidence", "in an unsure, hesitant way"),
    "masculinity": ("in a masculine way", "in a manly style", "with a masculine bearing"),
    "masculine": ("in a masculine way", "in a manly style", "with a masculine bearing"),
    "feminine": ("in a feminine way", "in a graceful, feminine style", "with feminine poise"),
    "childish": ("like a child", "in a childish way", "playfully like a young kid"),
    "children": ("like a child", "in a childish way", "playfully like a young kid"),
    "youthful": ("youthfully", "in a young, lively way", "like a young person"),
    "old": ("like an old person", "slowly, like an elderly person", "in an aged, stiff way"),
    "elderly": ("like an elderly person", "slowly, like an old person", "in an elderly manner"),
    "tired": ("wearily", "as if tired", "in a tired, sluggish way"),
    "exhausted": ("in an exhausted way", "wearily, as if exhausted", "with exhaustion"),
    "active": ("energetically", "in an active, lively way", "with lots of energy"),
    "musical": ("theatrically, as in a musical", "in a showy, musical way", "like a stage actor"),
    "giant": ("like a giant", "heavily, like a giant", "in a big, lumbering way"),
    "chimpira": ("like a street thug", "in a swaggering, thuggish way", "like a delinquent"),
}

# CMU trial descriptions (from the database index) for the trials in the sample data.
_CMU_TRIALS: dict[str, tuple[str, ...]] = {
    "131_01": (
        "a person starts walking, then stops",
        "someone walks a few steps and stops",
        "a person begins to walk and then comes to a stop",
    ),
    "131_03": (
        "a person starts hopping, then stops",
        "someone hops a few times and stops",
        "a person begins to hop and then comes to a stop",
    ),
    "01_01": (
        "a person jumps forward several times, then turns around",
        "someone does forward jumps on a playground and turns around",
        "a person hops forward repeatedly and then turns back",
    ),
    "11_01": (
        "a person kicks a ball",
        "someone kicks a soccer ball",
        "a person plays soccer, kicking the ball",
    ),
}
_CMU_TRIALS["131_02"] = _CMU_TRIALS["131_01"]

_LAFAN1_THEMES: dict[str, tuple[str, ...]] = {
    "walk": ("a person walks around", "someone walks in various directions", "a person walks"),
    "run": ("a person runs around", "someone jogs in various directions", "a person runs"),
    "sprint": ("a person sprints", "someone runs at full speed", "a person dashes around"),
    "dance": ("a person dances", "someone dances freely", "a person performs a dance"),
    "fallAndGetUp": (
        "a person falls to the ground and gets back up",
        "someone falls down and stands up again",
        "a person drops to the floor, then gets up",
    ),
    "obstacles": (
        "a person moves over and around obstacles",
        "someone steps over obstacles while walking",
        "a person navigates obstacles",
    ),
    "push": (
        "a person is pushed and keeps their balance",
        "someone gets shoved and recovers",
        "a person staggers after being pushed",
    ),
    "pushAndFall": (
        "a person is pushed and falls down",
        "someone gets shoved and falls to the ground",
        "a person is knocked over by a push",
    ),
    "multipleActions": (
        "a person performs several different actions",
        "someone does a sequence of everyday actions",
        "a person moves through a series of actions",
    ),
    "ground": (
        "a person moves on the ground",
        "someone crawls and rolls on the floor",
        "a person moves around while lying on the ground",
    ),
    "jumps": ("a person jumps", "someone jumps around", "a person hops and leaps"),
    "aiming": (
        "a person aims a weapon while moving",
        "someone walks around aiming a gun",
        "a person moves while aiming",
    ),
    "fight": ("a person fights", "someone throws punches and kicks", "a person fights an enemy"),
    "fightAndSports": (
        "a person fights and plays sports",
        "someone punches, kicks and plays sports",
        "a person performs fighting and sports moves",
    ),
}

_XIA_STYLES: dict[str, tuple[str, str, str]] = {
    "angry": ("angrily", "in an angry way", "furiously, stomping"),
    "childlike": ("like a child", "in a childlike way", "playfully like a kid"),
    "depressed": ("in a depressed way", "sadly, with a slumped posture", "gloomily"),
    "neutral": ("normally", "in a neutral way", "at an ordinary pace"),
    "old": ("like an old person", "slowly, like an elderly person", "with a stiff, aged gait"),
    "proud": ("proudly", "with a proud bearing", "in a proud, confident way"),
    "sexy": ("in a sexy way", "seductively", "with swaying hips"),
    "strutting": ("with a strut", "in a strutting way", "confidently with a swagger"),
}


def _phrase_captions(verbs: tuple[str, ...], manners: tuple[str, ...] | None) -> list[Caption]:
    """Macro captions "a person <verb>" and, given manners, meso "a person <verb> <manner>"."""
    captions = [
        Caption(f"{subject} {verb}", "macro")
        for subject, verb in zip(_SUBJECTS, verbs, strict=True)
    ]
    if manners is not None:
        captions += [
            Caption(f"{subject} {verb} {manner}", "meso")
            for subject, verb, manner in zip(_SUBJECTS, verbs, manners, strict=True)
        ]
    return captions


def _bandai_labels(stem: str) -> tuple[list[Caption], list[str]]:
    """`dataset-1_{content}_{style}_{id}` -> captions and content/style tags."""
    parts = stem.split("_")
    if len(parts) != 4:
        return [], []
    subset, content, style = parts[:3]
    tags = [f"subset:{subset}", f"content:{content}", f"style:{style}"]
    verbs = _BANDAI_CONTENTS.get(content)
    if verbs is None:
        return [], tags
    return _phrase_captions(verbs, _BANDAI_STYLES.get(style)), tags


def _cmu_labels(stem: str) -> tuple[list[Caption], list[str]]:
    """`{subject}_{trial}` -> the trial's description, when we know it."""
    tags = [f"subject:{stem.split('_')[0]}", f"trial:{stem}"]
    return [Caption(text, "macro") for text in _CMU_TRIALS.get(stem, ())], tags


def _lafan1_labels(stem: str) -> tuple[list[Caption], list[str]]:
    """`{theme}{take}_subject{n}` -> theme captions and subject/theme tags."""
    match = re.fullmatch(r"([A-Za-z]+?)\d*_subject(\d+)", stem)
    if match is None:
        return [], []
    theme, subject = match.groups()
    captions = [Caption(text, "macro") for text in _LAFAN1_THEMES.get(theme, ())]
    return captions, [f"subject:{subject}", f"theme:{theme}"]


def _xia_labels(stem: str) -> tuple[list[Caption], list[str]]:
    """`{style}_{take}_{part}` -> walking captions in that style."""
    style = stem.split("_")[0]
    manners = _XIA_STYLES.get(style)
    if manners is None:
        return [], []
    walks = ("walks", "walks forward", "walks along")
    return _phrase_captions(walks, manners), [f"style:{style}"]


def _beat_labels(stem: str) -> tuple[list[Caption], list[str]]:
    """BEAT names hold `{speaker id}_{speaker}_{...}`; the speaker becomes a tag."""
    match = re.search(r"(?:^|_)\d+_([a-z]+)_\d+_\d+_\d+", stem)
    return [], [f"speaker:{match.group(1)}"] if match else []


_LABELERS: dict[str, Callable[[str], tuple[list[Caption], list[str]]]] = {
    "bandai": _bandai_labels,
    "cmu": _cmu_labels,
    "lafan1": _lafan1_labels,
    "xia": _xia_labels,
    "beat": _beat_labels,
}


def dataset_labels(dataset: str, stem: str) -> tuple[list[Caption], list[str]]:
    """Captions and tags a dataset's file naming gives a take (none for unknown datasets)."""
    labeler = _LABELERS.get(dataset)
    return labeler(stem) if labeler else ([], [])


class BvhSource(MotionSource):
    """BVH files (LAFAN1, Bandai Namco, CMU, Xia, BEAT, or any skeleton given `--joint-map`)."""

    name: ClassVar[str] = "bvh"
    summary: ClassVar[str] = (
        "BVH motion capture (LAFAN1, Bandai Namco, CMU, Xia, BEAT; others via --joint-map)"
    )

    def discover(self, paths: list[Path]) -> list[str]:
        """Every `*.bvh` under the given files and folders (folders searched recursively)."""
        items: list[str] = []
        for path in map(Path, paths):
            if path.is_dir():
                found = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".bvh")
                if not found:
                    raise SourceError(f"{path}: folder holds no .bvh files")
                items += [str(p) for p in found if p.is_file()]
            elif path.is_file():
                if path.suffix.lower() != ".bvh":
                    raise SourceError(f"{path}: not a .bvh file")
                items.append(str(path))
            else:
                raise SourceError(f"{path}: no such file or folder")
        return list(dict.fromkeys(items))

    def load(self, item: str) -> list[SourceClip]:
        """One clip per BVH file, on SMPL-H at the file's frame rate."""
        path = Path(item)
        take = load_bvh_as_smplh(path, self.options.joint_map)
        captions, tags = dataset_labels(take.dataset, path.stem)
        return [
            SourceClip(
                take_id=f"{take.dataset}/{path.stem}",
                dataset=take.dataset,
                joints=take.joints[None],
                fps=take.fps,
                joint_mask=take.joint_mask,
                captions=captions,
                tags=tags,
                origin=str(path),
            )
        ]
