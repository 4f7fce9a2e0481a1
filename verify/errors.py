"""User-facing error hierarchy.

Every error the CLI shows is a :class:`VerifyError`: one line, no traceback. Library callers can catch
the specific subclasses.
"""

from __future__ import annotations


class VerifyError(Exception):
    """Base class for every error verify reports to a user."""

    exit_code = 1


class InputError(VerifyError):
    """The article or document given cannot be used (missing, empty, binary, too large)."""

    exit_code = 2


class ConfigError(VerifyError):
    """The configuration is invalid or incomplete."""

    exit_code = 2


class ModelAssetError(VerifyError):
    """The embedded model cannot be assembled or failed its integrity check."""


class BackendError(VerifyError):
    """The chat model endpoint failed."""


class EndpointUnreachableError(BackendError):
    """No server answers at the configured base URL: it never answered this client, or stopped
    answering (several requests in a row could not connect, after the client's retries)."""


class ConnectionLostError(BackendError):
    """One request could not reach an endpoint that has answered before (connection refused or
    dropped, after the client's retries): that window or claim fails, the run goes on."""


class AuthenticationError(BackendError):
    """The endpoint rejected the API key."""


class QuotaExceededError(BackendError):
    """The endpoint refused for exhausted quota or billing (429 ``insufficient_quota``): waiting does not help."""


class ContextLengthError(BackendError):
    """The request does not fit the model's context window: that piece of work fails, the run goes on."""


class InvalidOutputError(BackendError):
    """The model's output did not validate, after the allowed re-asks."""

    def __init__(self, message: str, usage: object | None = None) -> None:
        super().__init__(message)
        self.usage = usage  # verify.models.Usage of the calls spent before giving up


class TruncatedOutputError(InvalidOutputError):
    """The model's answer was cut by the token limit (finish reason "length"): re-asking with the same
    budget would be cut again, so the caller splits the work instead."""


class StoreError(VerifyError):
    """The evidence store cannot be used."""


class CollectionMissingError(StoreError):
    """The evidence collection does not exist or holds no passages."""

    exit_code = 2


class EmbeddingMismatchError(StoreError):
    """The collection was built with a different embedding model than the one configured."""


# Errors that stop a run (every later call would fail the same way), as opposed to per-claim failures.
FATAL = (AuthenticationError, QuotaExceededError, EndpointUnreachableError)
FATAL_ERRORS = frozenset(cls.__name__ for cls in FATAL)
