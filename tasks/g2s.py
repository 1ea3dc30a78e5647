"""Task `g2s`: gesture to speech: infer the speech audio."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="g2s",
    title="Gesture to speech: infer the speech audio",
    instructions=(
        "Infer the speech audio from the gestures.",
        "What might this person be saying? Produce the audio.",
        "Generate speech that fits these gestures.",
        "Voice the talk that goes with this movement.",
    ),
    required=("motion",),
    optional=(),
    reply=("audio",),
    benchmark=False,
    audio_kind="speech",
    headcounts=(1,),
    metrics=(),
)
