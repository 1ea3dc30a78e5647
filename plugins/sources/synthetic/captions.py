"""Caption paraphrases: plain macro captions and meso templates that add the manner."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vermo_cli.motion.clip import Caption

# Macro captions: the action in plain words, at least three paraphrases each.
MACRO_CAPTIONS: dict[str, tuple[str, ...]] = {
    "walk": ("a person walks", "someone is walking", "a person takes a walk", "a man walks"),
    "run": ("a person runs", "someone is running", "a person jogs along", "a man runs"),
    "jump": ("a person jumps", "someone jumps up", "a person hops into the air", "a man jumps"),
    "wave": ("a person waves", "someone waves hello", "a person waves a hand", "a man waves"),
    "bow": ("a person bows", "someone takes a bow", "a person bows forward", "a man bows"),
    "kick": ("a person kicks", "someone kicks a leg out", "a person does a kick", "a man kicks"),
    "punch": ("a person punches", "someone throws punches", "a person boxes", "a man punches"),
    "clap": ("a person claps", "someone claps their hands", "a person applauds", "a man claps"),
    "turn": ("a person turns around", "someone turns", "a person turns in place", "a man turns"),
    "sit down": ("a person sits down", "someone takes a seat", "a person sits", "a man sits down"),
    "squat": ("a person squats", "someone does squats", "a person crouches down", "a man squats"),
    "dance": (
        "a person dances",
        "someone is dancing",
        "a person moves to a rhythm",
        "a man dances",
    ),
    "dance to music": (
        "a person dances to music",
        "someone dances to a song",
        "a person dances along to the beat",
    ),
    "handshake": (
        "two people shake hands",
        "two persons greet each other with a handshake",
        "a person shakes hands with another person",
    ),
    "hug": ("two people hug", "two persons embrace each other", "a person hugs another person"),
    "push": (
        "one person pushes another",
        "a person shoves another person away",
        "two people, one pushes the other back",
    ),
    "high five": (
        "two people give each other a high five",
        "two persons high-five",
        "a person gives another person a high five",
    ),
    "follow": (
        "one person follows the other",
        "two people walk one behind the other",
        "a person walks after another person",
    ),
    "speech": (
        "a person talks and gestures",
        "someone speaks while moving their hands",
        "a person gives a talk with hand gestures",
    ),
}

# Meso captions: action plus manner. Placeholders are filled from the clip's manner words.
MESO_TEMPLATES: dict[str, tuple[str, ...]] = {
    "walk": ("a person walks {direction} {speed}", "someone {speed} walks {direction}",
             "a {style} person walks {direction} at a {pace} pace"),
    "run": ("a person runs {direction} {speed}", "someone {speed} runs {direction}",
            "a {style} person runs {direction} at a {pace} pace"),
    "jump": ("a person jumps {direction} {count}", "someone jumps {height} {count}",
             "a {style} person jumps {direction}"),
    "wave": ("a person {speed} waves with {hand}", "someone raises {hand} above the "
             "shoulder and waves {speed}", "a {style} person waves with {hand}"),
    "bow": ("a person bows {depth} {speed}", "someone {speed} bows {depth}",
            "a {style} person bows {depth}"),
    "kick": ("a person kicks {direction} with the {leg}", "someone {speed} kicks with the {leg}",
             "a {style} person kicks {direction} with the {leg}"),
    "punch": ("a person punches {count} with {hand}", "someone {speed} throws punches with "
              "{hand}", "a {style} person punches with {hand}"),
    "clap": ("a person claps {speed} {count}", "someone {speed} claps their hands {count}",
             "a {style} person claps their hands"),
    "turn": ("a person turns {direction} {speed}", "someone {speed} turns {direction} in place",
             "a {style} person turns {direction}"),
    "sit down": ("a person {speed} sits down", "someone sits down {speed} on a chair",
                 "a {style} person sits down"),
    "squat": ("a person squats {depth} {count}", "someone {speed} squats {depth} {count}",
              "a {style} person squats {depth}"),
    "dance": ("a person dances {style} {speed}", "someone dances {speed} with {moves}",
              "a person dances with {moves}"),
    "dance to music": ("a person dances to {mood} {genre} song",
                       "someone dances {speed} to {genre} music with {moves}",
                       "a person moves to the beat of {mood} {genre} tune"),
    "handshake": ("two people {speed} shake hands with the right hand",
                  "two people face each other and shake hands {speed}",
                  "a person reaches out and shakes another person's hand"),
    "hug": ("two people {speed} hug each other {style}", "two persons wrap their arms around each "
            "other {speed}", "two people face each other and hug"),
    "push": ("a person pushes another person {speed} with both hands", "one person shoves the "
             "other, who stumbles backwards", "a person {speed} pushes another one back"),
    "high five": ("two people give a high five with raised hands",
                  "two people {speed} slap their raised hands together",
                  "two persons raise their hands and high-five {speed}"),
    "follow": ("one person walks {direction} and another follows {speed}",
               "a person follows another person {direction}",
               "two people walk {direction} one behind the other"),
    "speech": ("a person talks and gestures with {hand}", "someone speaks {style} and beats "
               "the rhythm with {hand}", "a person talks {speed} and gestures with {hand}"),
}  # fmt: skip


class _Blank(dict):
    """Format mapping that turns missing placeholders into empty text."""

    def __missing__(self, key: str) -> str:
        return ""


def _tidy(text: str) -> str:
    """Collapse the double spaces that empty placeholders leave and fix "a" before a vowel."""
    words = text.split()
    for index, word in enumerate(words[:-1]):
        if word == "a" and words[index + 1][0] in "aeiou":
            words[index] = "an"
    return " ".join(words)


def describe(
    action: str, manner: Mapping[str, str], rng: np.random.Generator, macro_count: int = 2
) -> list[Caption]:
    """Captions of one clip: `macro_count` distinct macro paraphrases and two meso captions."""
    macro = MACRO_CAPTIONS[action]
    picked = rng.choice(len(macro), size=min(macro_count, len(macro)), replace=False)
    meso = MESO_TEMPLATES[action]
    templates = rng.choice(len(meso), size=2, replace=False)
    captions = [Caption(macro[int(i)], "macro") for i in picked]
    captions += [Caption(_tidy(meso[int(i)].format_map(_Blank(manner))), "meso") for i in templates]
    return captions


def speed_adverb(speed: str) -> str:
    """Adverb for a speed tag: `slow` -> "slowly", `fast` -> "quickly", otherwise empty."""
    return {"slow": "slowly", "fast": "quickly"}.get(speed, "")


def style_word(style: str) -> str:
    """Adjective for a style tag (`happy`, `tired`, ...); neutral styles give empty text."""
    return "" if style == "neutral" else style
