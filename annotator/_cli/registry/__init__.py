"""``annotate registry ...``: inspect, look up, export, compare and update the registry.

A thin layer over :mod:`annotator.registry`: every subcommand loads the
registry it is given (``--registry FILE``) or the default by precedence
(``$ANNOTATOR_REGISTRY``, the cached update, the bundled snapshot) and prints
what the library returns. Registry text is escaped before it reaches rich, so
square brackets in IANA's data (``[Jon_Postel]``) print as they are.

One module per job: :mod:`.parser` builds the arguments and dispatches;
:mod:`.info`, :mod:`.lookup`, :mod:`.show`, :mod:`.diff` and :mod:`.update`
each run one subcommand; :mod:`.common` holds what several of them print.

Bad input raises the library's one-line errors; :func:`annotator.cli.main`
prints them and exits 2.
"""

from __future__ import annotations

from annotator._cli.registry.parser import (
    add_registry_commands,
    build_registry_parser,
    run_registry_command,
    run_registry_main,
)

__all__ = [
    "add_registry_commands",
    "build_registry_parser",
    "run_registry_command",
    "run_registry_main",
]
