"""Where the database is when nobody says: read by the CLI before anything loads SQLAlchemy."""

from __future__ import annotations

import os

#: Used when neither ``--db`` nor ``EKTP_DATABASE_URL`` says otherwise.
DEFAULT_URL = "sqlite:///ektp.db"
URL_VARIABLE = "EKTP_DATABASE_URL"


def default_url() -> str:
    """The database URL from ``EKTP_DATABASE_URL``, else a SQLite file ``ektp.db``."""
    return os.environ.get(URL_VARIABLE) or DEFAULT_URL
