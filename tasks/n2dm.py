"""Task `n2dm`: compose music and a matching dance."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="n2dm",
    title="Compose music and a matching dance",
    instructions=(
        "Compose music and a matching dance.",
        "Make up a song and dance to it.",
        "Produce music, then choreography on its beat.",
        "Create a piece of music together with a dance.",
    ),
    required=(),
    optional=("duration", "genre"),
    reply=("audio", "motion"),
    benchmark=False,
    audio_kind="music",
    headcounts=(1,),
    metrics=(),
)
