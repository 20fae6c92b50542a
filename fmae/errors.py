"""Exception types for errors a user can cause; the UI shows their message, never a traceback."""


class FmaeError(Exception):
    """Base class of every error fmae raises on purpose."""


class DataUnavailableError(FmaeError):
    """A dataset is not on disk and cannot be downloaded."""


class CheckpointError(FmaeError):
    """A checkpoint folder is missing, malformed, unsafe or does not match its model."""


class InputImageError(FmaeError):
    """An uploaded or drawn image cannot be turned into a model input."""


class HubError(FmaeError):
    """Pushing to or pulling from the Hugging Face Hub failed (message never holds the token)."""


class NonFiniteError(FmaeError):
    """A number fmae would use or show is NaN or infinite: a model's output, a loss, reference data."""
