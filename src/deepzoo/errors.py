"""User-facing errors.

Anything a user can get wrong (a missing file, a bad config key, an unknown model name) raises a
subclass of :class:`DeepzooError`. The CLI prints its message as one line and exits with status 2;
every other exception is a bug and keeps its traceback.
"""


class DeepzooError(Exception):
    """A mistake in the user's input: printed as one line, exit status 2."""


class DataError(DeepzooError):
    """A dataset that cannot be read or fails validation (names the file, row or item)."""


class ConfigError(DeepzooError):
    """A config key, value or combination that is not valid."""


class TrainingError(DeepzooError):
    """Training stopped for a reason the user must act on (a NaN loss, an existing run folder)."""


class Interrupted(Exception):  # noqa: N818 - a stop the user asked for, not an error
    """Training stopped on SIGTERM or SIGINT after writing a checkpoint: the CLI prints the message
    (which says how to resume) as one line and exits with ``status`` (143 or 130). Not a
    :class:`DeepzooError`, so code that carries on after user errors (a tuning study) stops too."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status

    @property
    def signal_name(self) -> str:
        """``SIGTERM`` or ``SIGINT``, from the exit status (128 + the signal's number)."""
        import signal

        return signal.Signals(self.status - 128).name


def one_line(err: BaseException) -> str:
    """The first line of an exception's message (library errors sometimes span several)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
