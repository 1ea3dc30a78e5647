"""Task `d2m`: dance to music: compose music for a dance."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="d2m",
    title="Dance to music: compose music for a dance",
    instructions=(
        "Add background music to this dance.",
        "Compose music that fits these dance moves.",
        "Generate a soundtrack in time with this dance.",
        "What music is this person dancing to? Produce it.",
    ),
    required=("motion",),
    optional=("genre",),
    reply=("audio",),
    benchmark=True,
    audio_kind="music",
    headcounts=(1,),
    metrics=("beats_coverage", "beats_hit", "beat_f1"),
)
