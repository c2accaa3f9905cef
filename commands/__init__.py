"""Command groups of the ``strongroom`` CLI beyond the core filing commands in ``cli.py``."""
