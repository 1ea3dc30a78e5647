"""User-facing errors: each carries a one-line message that names the file or option at fault."""


class VermoError(Exception):
    """Base class for mistakes a user can fix; the CLI prints the message, never a traceback."""


class SourceError(VermoError):
    """A dataset file or folder cannot be read as the requested source."""


class UnknownSkeletonError(SourceError):
    """A BVH skeleton matches no built-in joint map and no --joint-map was given."""


class BodyModelError(SourceError):
    """SMPL-family parameters were given without a usable --body-model directory."""


class AudioError(SourceError):
    """An audio file cannot be decoded."""


class CorpusError(VermoError):
    """A corpus directory is missing, incomplete or would be overwritten."""


class OutputError(VermoError):
    """An output path cannot be written, or holds something a command may not replace."""


def first_line(error: BaseException, default: str | None = None) -> str:
    """The first line of a library's error message, for a one-line `VermoError`; `default`
    (or the exception's type name) when the message is empty."""
    text = str(error).strip()
    return text.splitlines()[0] if text else default or type(error).__name__
