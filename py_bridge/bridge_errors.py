"""Exceptions the worker raises on purpose, mapped to typed TypeScript errors.

Anything else that escapes a handler reaches TypeScript as a ``WorkerError`` carrying
its Python type, message and traceback.
"""


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
