"""Coverage-guided fuzzing of the registry loaders: bytes -> parse_registry.

Every input goes through :func:`annotator.registry.loaders.parse_registry`,
which picks the XML, CSV or pasted-text loader by content, as it does for a
file a user hands to ``--registry``.  A crash is any exception other than the
project's own :class:`~annotator.errors.AnnotatorError` family, or an error
message that spans several lines; a registry that loads must also answer a
lookup, since that is what the annotator does with it next.

Run (see fuzz/README.md)::

    .venv/bin/python fuzz/fuzz_registry.py fuzz/corpus/registry -max_len=16384
"""

from __future__ import annotations

import sys

import atheris

# numpy and pandas are imported first so that only the project is instrumented.
import numpy  # noqa: F401
import pandas  # noqa: F401

with atheris.instrument_imports(include=["annotator"]):
    from annotator.errors import AnnotatorError
    from annotator.registry.loaders import parse_registry

    # The loaders import their parsers (XML, CSV, text) on first use: load a
    # tiny registry of each form here so those modules are instrumented too.
    for _seed in (
        b"<registry><record><name>a</name><protocol>tcp</protocol><number>1</number></record></registry>",
        b"Service Name,Port Number,Transport Protocol,Description\na,1,tcp,A\n",
        b"Service Name  Port Number  Transport Protocol  Description\na  1  tcp  A\n",
    ):
        parse_registry(_seed, "<warm-up>").lookup(1, "tcp")

PORTS = (0, 22, 53, 80, 443, 8080, 65535)


def test_one_input(data: bytes) -> None:
    """One fuzz case: parse ``data`` as a registry; only AnnotatorError may escape."""
    try:
        registry = parse_registry(data, "<fuzz>")
    except AnnotatorError as err:
        message = str(err)
        assert message and "\n" not in message, repr(message)
        return
    assert registry.records
    for port in PORTS:
        for record in registry.lookup(port, "tcp"):
            registry.lookup_name(record.service)
        registry.primary(port, "udp")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
