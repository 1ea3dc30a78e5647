"""Speech-like audio (voiced syllables with formants, stressed syllables louder and higher) and beat
gestures whose strokes land on the stressed syllables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vermo_plugins.sources.synthetic.actions import Act, timeline
from vermo_plugins.sources.synthetic.rig import Pose, add_idle, apply_keys, both, side_pose

from vermo_cli.motion.clip import Word

SAMPLE_RATE: int = 24_000
# Word -> (syllables, index of the lexically stressed syllable, or -1 for function words that
# never carry a phrase accent).
LEXICON: dict[str, tuple[int, int]] = {
    "today": (2, 1), "we": (1, -1), "will": (1, -1), "talk": (1, 0), "about": (2, -1),
    "the": (1, -1), "future": (2, 0), "of": (1, -1), "motion": (2, 0), "and": (1, -1),
    "music": (2, 0), "this": (1, -1), "is": (1, -1), "really": (2, 0), "important": (3, 1),
    "for": (1, -1), "everyone": (3, 0), "here": (1, 0), "I": (1, -1), "think": (1, 0),
    "that": (1, -1), "people": (2, 0), "move": (1, 0), "together": (3, 1), "every": (2, 0),
    "single": (2, 0), "day": (1, 0), "let": (1, -1), "me": (1, -1), "show": (1, 0),
    "you": (1, -1), "a": (1, -1), "simple": (2, 0), "example": (3, 1), "it": (1, -1),
    "was": (1, -1), "amazing": (3, 1), "to": (1, -1), "see": (1, 0), "how": (1, -1),
    "quickly": (2, 0), "they": (1, -1), "learned": (1, 0), "dancing": (2, 0), "so": (1, -1),
    "remember": (3, 1), "what": (1, -1), "said": (1, 0), "before": (2, 1), "beautiful": (3, 0),
}  # fmt: skip
SENTENCES: tuple[str, ...] = (
    "today we will talk about the future of motion",
    "this is really important for everyone here",
    "I think that people move together every single day",
    "let me show you a simple example",
    "it was amazing to see how quickly they learned",
    "so remember what I said before",
    "dancing is a beautiful example of motion and music",
    "I really think this is important",
)
# Vowel formants F1, F2 in Hz (a, e, i, o, u).
_VOWELS = np.array(
    [[730.0, 1090.0], [530.0, 1840.0], [300.0, 2250.0], [570.0, 840.0], [320.0, 900.0]]
)


_HARMONICS = 24
_ENVELOPE_STEP = 60


@dataclass(frozen=True)
class Syllable:
    """One spoken syllable: start and end in seconds, whether it carries the phrase accent, and
    its vowel (row of the formant table)."""

    start: float
    end: float
    stressed: bool
    vowel: int

    @property
    def peak(self) -> float:
        """Time in seconds of the syllable's loudest and (if stressed) highest moment."""
        return 0.5 * (self.start + self.end)


@dataclass
class SpeechTake:
    """Speech with gestures: `act` (30 fps), mono `waveform` `[samples]` float32 at 24 kHz,
    transcript `words` and the `syllables` behind them."""

    act: Act
    waveform: np.ndarray
    words: list[Word]
    syllables: list[Syllable]


def plan_speech(rng: np.random.Generator, duration: float) -> tuple[list[Word], list[Syllable]]:
    """Lay out sentences as phrases of syllables within `duration` seconds.

    One to three content words per sentence carry the accent (at least 0.45 s apart); stressed
    syllables last longer. Sentences are separated by pauses of 0.35-0.7 s.
    """
    words: list[Word] = []
    syllables: list[Syllable] = []
    time = rng.uniform(0.4, 0.8)
    order = rng.permutation(len(SENTENCES))
    for sentence_index in order:
        sentence = SENTENCES[int(sentence_index)].split()
        accentable = [i for i, word in enumerate(sentence) if LEXICON[word][1] >= 0]
        accented = set(
            rng.choice(
                accentable, size=min(len(accentable), int(rng.integers(1, 4))), replace=False
            ).tolist()
        )
        planned: list[tuple[Word, list[Syllable]]] = []
        cursor = time
        last_accent = -1.0
        for index, text in enumerate(sentence):
            count, stress = LEXICON[text]
            start = cursor
            pieces = []
            for syllable in range(count):
                stressed = index in accented and syllable == stress
                length = rng.uniform(0.24, 0.3) if stressed else rng.uniform(0.13, 0.19)
                if stressed and cursor + 0.5 * length - last_accent < 0.45:
                    stressed, length = False, rng.uniform(0.13, 0.19)
                pieces.append(Syllable(cursor, cursor + length, stressed, int(rng.integers(5))))
                if stressed:
                    last_accent = cursor + 0.5 * length
                cursor += length + rng.uniform(0.01, 0.025)
            planned.append((Word(text, start, cursor - 0.01), pieces))
            cursor += rng.uniform(0.02, 0.06)
        if cursor > duration - 0.4:
            break
        for word, pieces in planned:
            words.append(word)
            syllables += pieces
        time = cursor + rng.uniform(0.35, 0.7)
    return words, syllables


def _formant_gain(frequency: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Spectral envelope of a vowel: resonances at F1, F2 and a fixed F3 near 2.6 kHz."""

    def resonance(centre: np.ndarray | float, bandwidth: float) -> np.ndarray:
        return 1.0 / (1.0 + ((frequency - centre) / bandwidth) ** 2)

    return resonance(first, 90.0) + 0.7 * resonance(second, 130.0) + 0.25 * resonance(2600.0, 200.0)


def synthesize_speech(
    syllables: list[Syllable], duration: float, rng: np.random.Generator
) -> np.ndarray:
    """Speech-like audio `[samples]` float32 at 24 kHz, peak 0.9.

    Each syllable is a voiced harmonic tone coloured by its vowel's formants with a rise-fall
    amplitude envelope and a short noise burst for the consonant; stressed syllables are about
    twice as loud and 30 % higher in pitch, and the pitch declines over the take.
    """
    samples = round(duration * SAMPLE_RATE)
    time = np.arange(samples) / SAMPLE_RATE
    base = rng.uniform(100.0, 210.0)
    pitch = base * (1.0 - 0.1 * time / duration)
    loudness = np.zeros(samples)
    first = np.full(samples, 500.0)
    second = np.full(samples, 1500.0)
    noise = np.zeros(samples)
    for syllable in syllables:
        begin, end = (
            round(syllable.start * SAMPLE_RATE),
            min(round(syllable.end * SAMPLE_RATE), samples),
        )
        progress = np.linspace(0.0, 1.0, end - begin)
        shape = np.sin(np.pi * progress) ** 0.7
        loudness[begin:end] = shape * (1.0 if syllable.stressed else 0.45)
        if syllable.stressed:
            pitch[begin:end] *= 1.0 + 0.3 * np.sin(np.pi * progress)
        first[begin:end], second[begin:end] = _VOWELS[syllable.vowel]
        burst = min(round(0.035 * SAMPLE_RATE), end - begin)
        noise[begin : begin + burst] = np.linspace(1.0, 0.0, burst)
    # Vibrato-free but slightly jittered pitch keeps the voice from sounding like a pure organ.
    pitch *= 1.0 + 0.01 * np.sin(2.0 * np.pi * 5.0 * time)
    phase = 2.0 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voiced = np.flatnonzero(loudness > 0.0)
    # The spectral envelope changes slowly, so its gains are computed on a 2.5 ms grid.
    coarse = voiced[::_ENVELOPE_STEP]
    fundamental = np.exp(1j * phase[voiced])
    partial = fundamental.copy()
    voice = np.zeros(samples)
    for harmonic in range(1, _HARMONICS + 1):
        frequency = harmonic * pitch[coarse]
        gain = _formant_gain(frequency, first[coarse], second[coarse]) / harmonic**0.5
        voice[voiced] += np.repeat(gain, _ENVELOPE_STEP)[: len(voiced)] * partial.imag
        # Successive harmonics by complex multiplication: cheaper than a sine per harmonic.
        partial *= fundamental
    hiss = np.diff(rng.standard_normal(samples + 1)) * noise * 0.08
    signal = voice * loudness + hiss
    return (0.9 * signal / max(np.max(np.abs(signal)), 1e-9)).astype(np.float32)


def _gesture_arm(side: str, elbow: float, forward: float, wrist: float) -> dict[str, float]:
    return side_pose(
        side,
        shoulder_abd=18.0,
        shoulder_fwd=forward,
        shoulder_twist=25.0,
        elbow_flex=elbow,
        wrist_flex=wrist,
        finger_curl=25.0,
        thumb_curl=10.0,
    )


def gesture_act(
    syllables: list[Syllable], duration: float, hands: tuple[str, ...], rng: np.random.Generator
) -> Act:
    """Beat gestures: each stroke's beat point lands on a stressed syllable's `peak`.

    The beat point is the end of the downward stroke: the hand at its lowest and (momentarily)
    still, a local minimum of the wrist's height and speed. The hand is raised for the stroke
    0.2 s before, and returns to a neutral gesture pose between phrases.
    """
    times, channels = timeline(duration)
    rest: dict[str, float] = both(
        shoulder_abd=8.0, shoulder_fwd=4.0, shoulder_twist=0.0, elbow_flex=12.0, wrist_flex=5.0
    )

    def arms(elbow: float, forward: float, wrist: float, nod: float) -> dict[str, float]:
        pose = dict(rest)
        for side in hands:
            pose |= _gesture_arm(side, elbow, forward, wrist)
        return pose | {"head_flex": nod}

    hold = arms(82.0, 28.0, 8.0, 0.0)
    keys: list[tuple[float, Pose]] = [(0.0, rest | {"head_flex": 0.0})]
    accents = [syllable.peak for syllable in syllables if syllable.stressed]
    previous = 0.0
    if accents:
        previous = max(accents[0] - 0.8, 0.05)
        keys.append((previous, hold))
    for accent in accents:
        prepare = max(accent - 0.2, previous + 0.08)
        if prepare - previous > 0.6:
            keys.append((previous + 0.3, hold))
        keys.append((prepare, arms(rng.uniform(98.0, 108.0), 34.0, -5.0, -2.0)))
        keys.append((accent, arms(rng.uniform(58.0, 66.0), 23.0, 16.0, 7.0)))
        previous = accent
    keys.append((min(previous + 0.35, duration), hold))
    keys.append((min(previous + 1.0, duration), rest | {"head_flex": 0.0}))
    apply_keys(channels, times, sorted(keys, key=lambda key: key[0]))
    add_idle(channels, times, rng, 0.4)
    return Act(channels)


def speech_take(rng: np.random.Generator) -> SpeechTake:
    """A person talking for 3-10 s with beat gestures of one or both hands."""
    duration = rng.uniform(4.0, 10.0)
    words, syllables = plan_speech(rng, duration)
    hand = str(rng.choice(["both", "both", "right", "left"]))
    hands = ("left", "right") if hand == "both" else (hand,)
    act = gesture_act(syllables, duration, hands, rng)
    waveform = synthesize_speech(syllables, duration, rng)
    act.tags = [f"hand:{hand}", f"words:{len(words)}"]
    act.manner = {
        "hand": "both hands" if hand == "both" else f"the {hand} hand",
        "style": "calmly",
        "speed": "",
    }
    return SpeechTake(act, waveform, words, syllables)
