"""Publishing: the bundle to Databricks (Unity Catalog + Model Serving), the app to a Hugging Face Space.

One module per target (``databricks``, ``space``) and what they share (``common``). Both commands
have a ``--dry-run`` that prints every action and touches no network. Credentials come from the
environment (databricks-sdk's variables or profile, ``HF_TOKEN`` or a saved Hugging Face login) and
are never printed. Heavy clients are imported only when they are used, so importing this package,
and every dry run, stays offline.
"""

from __future__ import annotations

from training.publish.cli import add_subcommands

__all__ = ["add_subcommands"]
