"""Task `n2tm`: unconditional: invent a motion and describe it."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="n2tm",
    title="Unconditional: invent a motion and describe it",
    instructions=(
        "Randomly synthesize a motion and its caption.",
        "Make up a movement and say what it is.",
        "Invent any motion, then describe it in words.",
        "Produce a random action together with its description.",
    ),
    required=(),
    optional=("duration",),
    reply=("motion", "caption"),
    benchmark=False,
    headcounts=(1,),
    metrics=(),
)
