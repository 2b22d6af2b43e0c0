"""Printing with rich for the subcommands that draw tables (``info``, ``lookup``).

Kept apart from :mod:`.common` so that ``show`` and ``diff``, which write
plain text, never import rich.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from annotator.registry import Registry


def console() -> Console:
    """A console that prints registry text as it is: no highlighting, no wrapping."""
    return Console(highlight=False, soft_wrap=False)


def lacks_notice(registry: Registry, out: Console, *, brief: bool = False) -> None:
    """For the bundled snapshot: what it lacks, and how to get the full registry."""
    extra = registry.meta.extra
    stale = extra.get("columns_stale")
    if not stale:
        return
    if brief:
        out.print(
            "Bundled snapshot: columns beyond name, port, transport and description may be "
            "stale or empty; `annotate registry update` fetches IANA's current registry."
        )
        return
    out.print(
        f"This is the bundled snapshot: columns {escape(', '.join(stale))} are as of "
        f"{escape(str(extra.get('columns_stale_as_of') or 'an older registry'))} and empty for "
        f"{extra.get('columns_missing_for', 0):,} newer records."
    )
    for item in extra.get("lacks", []):
        out.print(f"  - {escape(str(item))}")
    out.print("Run `annotate registry update` to use IANA's current registry.")
