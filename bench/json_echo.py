"""Echo helper for bench/transfer.ts: the plain-pythonia (JSON, no shared memory) baseline."""

from __future__ import annotations


def echo(xs: list[float]) -> list[float]:
    """Return the list unchanged, so the bench measures only the JSON round trip."""
    return xs
