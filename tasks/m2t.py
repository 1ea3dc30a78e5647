"""Task `m2t`: motion to text: describe one person's motion."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="m2t",
    title="Motion to text: describe one person's motion",
    instructions=(
        "Describe the given motion.",
        "What is this person doing?",
        "Put the movement you see into words.",
        "Write a caption for this motion.",
    ),
    required=("motion",),
    optional=(),
    reply=("caption",),
    benchmark=True,
    headcounts=(1,),
    metrics=(
        "bleu1",
        "bleu4",
        "rouge_l",
        "cider",
        "bertscore",
        "r_precision_top1",
        "r_precision_top2",
        "r_precision_top3",
        "mm_dist",
    ),
)
