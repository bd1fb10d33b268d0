"""Every failure hib can report, each with a stable code.

Codes are part of the user contract (``error_code`` in ``hib runs show``); messages are one
human line. Per-host failures are *results*, not exceptions that stop a run: the engine catches
these, records them against the host and goes on.

The tree::

    HibError                         code
    ├── ConfigError                  BAD_CONFIG        bad usage/input/configuration -> exit 2
    ├── StoreError                   STORE_ERROR       config git store or image store failed
    │   ├── StoreLocked              STORE_LOCKED      another run held the store lock too long
    │   └── RemoteError              PUSH_FAILED       the config remote refused (auth, rejected)
    │       └── RemoteUnreachable    REMOTE_UNREACHABLE  the config remote cannot be reached
    ├── RecordingError               RECORDING_FAILED  the run database could not be written
    ├── DeviceError                  (per device; host set)
    │   ├── AuthFailed               AUTH_FAILED
    │   ├── DeviceTimeout            TIMEOUT
    │   ├── Unreachable              UNREACHABLE
    │   ├── PromptNotDetected        PROMPT_NOT_DETECTED
    │   ├── TruncatedOutput          TRUNCATED_OUTPUT
    │   ├── CommandRejected          COMMAND_REJECTED
    │   └── UnsupportedPlatform      UNSUPPORTED_PLATFORM
    └── ProviderError                (per image provider; host set)
        ├── ProviderAuthFailed       AUTH_FAILED
        ├── RateLimited              RATE_LIMITED      (carries retry_after seconds if known)
        ├── NotFound                 NOT_FOUND
        ├── ChecksumMismatch         CHECKSUM_MISMATCH
        ├── NetworkError             NETWORK
        └── UnsupportedProvider      UNSUPPORTED_PROVIDER
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable error codes; never renamed, only added to."""

    BAD_CONFIG = "BAD_CONFIG"
    STORE_ERROR = "STORE_ERROR"
    STORE_LOCKED = "STORE_LOCKED"
    PUSH_FAILED = "PUSH_FAILED"
    REMOTE_UNREACHABLE = "REMOTE_UNREACHABLE"
    AUTH_FAILED = "AUTH_FAILED"
    TIMEOUT = "TIMEOUT"
    UNREACHABLE = "UNREACHABLE"
    PROMPT_NOT_DETECTED = "PROMPT_NOT_DETECTED"
    TRUNCATED_OUTPUT = "TRUNCATED_OUTPUT"
    COMMAND_REJECTED = "COMMAND_REJECTED"
    UNSUPPORTED_PLATFORM = "UNSUPPORTED_PLATFORM"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_FOUND = "NOT_FOUND"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    NETWORK = "NETWORK"
    UNSUPPORTED_PROVIDER = "UNSUPPORTED_PROVIDER"
    RECORDING_FAILED = "RECORDING_FAILED"
    INTERNAL = "INTERNAL"


class HibError(Exception):
    """Base of every hib error: a stable ``code``, a one-line ``message``, optional ``host``."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, host: str | None = None) -> None:
        # One line only: messages end up in tables, JUnit and log lines.
        self.message = " ".join(str(message).split())
        self.host = host
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.host}: {self.message}" if self.host else self.message

    def to_dict(self) -> dict[str, str | None]:
        """Plain data for results, JSON output and the run database."""
        return {"code": str(self.code), "message": self.message, "host": self.host}


class ConfigError(HibError):
    """Bad usage, input or configuration. The CLI prints one line and exits 2."""

    code = ErrorCode.BAD_CONFIG


class StoreError(HibError):
    """The config store or image store could not be read, written or locked."""

    code = ErrorCode.STORE_ERROR


class StoreLocked(StoreError):
    """Another run held the store lock for longer than the lock timeout; nothing was changed."""

    code = ErrorCode.STORE_LOCKED


class RemoteError(StoreError):
    """The config store's git remote refused a fetch or push (auth, rejected, kept moving)."""

    code = ErrorCode.PUSH_FAILED


class RemoteUnreachable(RemoteError):
    """The config store's git remote could not be reached (network, no such repository)."""

    code = ErrorCode.REMOTE_UNREACHABLE


class RecordingError(HibError):
    """The run database could not be written; the run is marked so, never silently dropped."""

    code = ErrorCode.RECORDING_FAILED


class DeviceError(HibError):
    """A failure talking to one network device."""


class AuthFailed(DeviceError):
    """The device rejected the credentials (login or enable)."""

    code = ErrorCode.AUTH_FAILED


class DeviceTimeout(DeviceError):
    """The device accepted the connection but did not answer in time."""

    code = ErrorCode.TIMEOUT


class Unreachable(DeviceError):
    """TCP connection refused, no route, or name resolution failed."""

    code = ErrorCode.UNREACHABLE


class PromptNotDetected(DeviceError):
    """Connected, but no prompt the platform driver recognises."""

    code = ErrorCode.PROMPT_NOT_DETECTED


class TruncatedOutput(DeviceError):
    """The config looks cut short (end marker missing, too few lines, sudden size drop)."""

    code = ErrorCode.TRUNCATED_OUTPUT


class CommandRejected(DeviceError):
    """The device answered a backup command with an error (``% Invalid input`` and kin)."""

    code = ErrorCode.COMMAND_REJECTED


class UnsupportedPlatform(DeviceError):
    """No platform profile for the host's ``hib_platform``/``ansible_network_os``."""

    code = ErrorCode.UNSUPPORTED_PLATFORM


class ProviderError(HibError):
    """A failure talking to one image-hosting provider."""

    code = ErrorCode.NETWORK


class ProviderAuthFailed(ProviderError):
    """Credentials or token rejected (401/403), including an expired token that cannot refresh."""

    code = ErrorCode.AUTH_FAILED


class RateLimited(ProviderError):
    """The provider said slow down (429 or quota headers) and retries ran out."""

    code = ErrorCode.RATE_LIMITED

    def __init__(
        self, message: str, *, host: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, host=host)
        self.retry_after = retry_after


class NotFound(ProviderError):
    """Bucket, repository, account or object does not exist."""

    code = ErrorCode.NOT_FOUND


class ChecksumMismatch(ProviderError):
    """Downloaded bytes do not match the provider's checksum or size."""

    code = ErrorCode.CHECKSUM_MISMATCH


class NetworkError(ProviderError):
    """Connection refused/reset, 5xx after retries, or a body cut short."""

    code = ErrorCode.NETWORK


class UnsupportedProvider(ProviderError):
    """No provider plug-in registered under the host's ``hib_provider``."""

    code = ErrorCode.UNSUPPORTED_PROVIDER


__all__ = [
    "AuthFailed",
    "ChecksumMismatch",
    "CommandRejected",
    "ConfigError",
    "DeviceError",
    "DeviceTimeout",
    "ErrorCode",
    "HibError",
    "NetworkError",
    "NotFound",
    "PromptNotDetected",
    "ProviderAuthFailed",
    "ProviderError",
    "RateLimited",
    "RecordingError",
    "RemoteError",
    "RemoteUnreachable",
    "StoreError",
    "StoreLocked",
    "TruncatedOutput",
    "Unreachable",
    "UnsupportedPlatform",
    "UnsupportedProvider",
]
