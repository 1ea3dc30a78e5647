"""Task `m2d`: music to dance."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="m2d",
    title="Music to dance",
    instructions=(
        "Dance to the given music.",
        "Choreograph a dance for this song.",
        "Move to the rhythm of this music.",
        "Create dance moves that follow the beat.",
    ),
    required=("music",),
    optional=("caption", "genre"),
    reply=("motion",),
    benchmark=True,
    audio_kind="music",
    headcounts=(1,),
    metrics=("fid_k", "fid_g", "div_k", "div_g", "beat_align"),
)
