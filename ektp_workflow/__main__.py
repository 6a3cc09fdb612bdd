"""``python -m ektp_workflow`` runs the ``ektp`` command line."""

from .cli import main

main()
