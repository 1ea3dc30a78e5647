"""Task `s2g`: speech to gesture: move along with the speech."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="s2g",
    title="Speech to gesture: move along with the speech",
    instructions=(
        "Add body movements to this speech.",
        "Gesture as a speaker would while saying this.",
        "Generate co-speech gestures for the audio.",
        "Move the body in time with this talk.",
    ),
    required=("speech",),
    optional=("caption",),
    reply=("motion",),
    benchmark=True,
    audio_kind="speech",
    headcounts=(1,),
    metrics=("fgd", "beat_align", "l1div"),
)
