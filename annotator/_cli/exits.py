"""The exit codes of the ``annotate`` command and its subcommands, in one place.

::

    0   success
    1   a finding at or above --fail-on
    2   usage error, or an input (capture, registry) that cannot be read at all
    3   partial capture: results for what was readable, the rest accounted
    70  internal error (a bug: please report it; ANNOTATOR_DEBUG=1 shows the traceback)
    130 interrupted (Ctrl-C)

When several apply, 2 wins over 1, and 1 over 3.
"""

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2  # a usage error or an unreadable input (every AnnotatorError)
EXIT_PARTIAL = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
