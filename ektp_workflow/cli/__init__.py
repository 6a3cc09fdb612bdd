"""The ``ektp`` command line: thin adapters over the library's public functions."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
