"""Exceptions the worker raises on purpose, mapped to typed TypeScript errors, and the checks that raise them.

Anything else that escapes a handler reaches TypeScript as a ``WorkerError`` carrying
its Python type, message and traceback.
"""

import numbers
import traceback
from typing import Any


class BridgeValidationError(ValueError):
    """Bad input that only Python could check; TypeScript raises it as a ``ValidationError``."""

    def __init__(self, message: str, path: str = "") -> None:
        """Keep the option path (``device``, ``tensor.shape``…) beside the message."""
        super().__init__(message)
        self.path = path


class EnvironmentProblem(RuntimeError):
    """The Python environment lacks something (torch, torchvision); the message says how to fix it."""


class SharedMemoryFull(OSError):
    """The arena's folder has no room left; TypeScript raises it as a ``SharedMemoryError``."""


def check_int(value: object, name: str, path: str, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` if it is an integer (not a bool) in ``[minimum, maximum]``.

    Args:
        value: The value to check.
        name: Its Python name, for the message.
        path: The TypeScript option name for the error.
        minimum: The smallest allowed value.
        maximum: The largest allowed value, or ``None`` for no limit.

    Returns:
        The value as a Python ``int``.

    Raises:
        BridgeValidationError: When the value is not an integer or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):  # numpy integers too
        raise BridgeValidationError(f"{name} must be an integer, got {value!r}", path=path)
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise BridgeValidationError(f"{name} must be {bounds}, got {number}", path=path)
    return number


def describe(exc: BaseException) -> dict[str, Any]:
    """The structured form of an exception that TypeScript turns into a typed error."""
    kind = "python"
    if isinstance(exc, BridgeValidationError):
        kind = "validation"
    elif isinstance(exc, EnvironmentProblem):
        kind = "environment"
    elif isinstance(exc, SharedMemoryFull):
        kind = "shared-memory"
    return {
        "kind": kind,
        "type": type(exc).__name__,
        "message": exc.strerror if isinstance(exc, SharedMemoryFull) else str(exc),
        "path": exc.path if isinstance(exc, BridgeValidationError) else "",
        "traceback": "".join(traceback.format_exception(exc)),
    }
