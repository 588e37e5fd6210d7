"""A local provider to develop against: signed webhooks on demand, and ``POST /orders``."""

from __future__ import annotations

__all__: list[str] = []
