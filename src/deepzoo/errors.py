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
