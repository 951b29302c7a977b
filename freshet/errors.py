"""The error hierarchy: each error carries one plain sentence meant for the user.

The CLI maps `BadInput` to exit code 2 and `PipelineFailed` to exit code 1, without a
traceback. Components raise the same errors so that a failed step says the same sentence.
"""


class FreshetError(Exception):
    """Base class: `str(error)` is a complete sentence for the user."""


class BadInput(FreshetError):
    """Input the user can fix: a missing file, an unknown parameter, an unusable dataset."""


class DataError(BadInput):
    """The dataset cannot be read or is not usable for training."""


class ConfigError(BadInput):
    """Settings or parameters are missing or malformed."""


class PipelineFailed(FreshetError):
    """A pipeline step failed while running."""


class RegistryError(FreshetError):
    """The model registry is missing, corrupt or locked."""
