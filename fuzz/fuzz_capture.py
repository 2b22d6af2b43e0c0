"""Coverage-guided fuzzing of the capture stage: bytes -> reader -> decoder -> flows.

Each input is handed, as an in-memory file, to :func:`annotator.read_flows`:
compression detection, the pcap/pcapng readers, the packet decoder, the flow
aggregator and the registry join all see it.  A crash is any exception other
than the project's own :class:`~annotator.errors.AnnotatorError` family (the
one-line errors a user is meant to see), and any break of the accounting a
user relies on (every packet in a flow, in "other" or counted undecodable).

The record walk runs in plain Python: the compiled walks (the C extension and
the numba kernel) are machine code that atheris cannot instrument, so their
loaders are replaced by ones that report them absent.  The walks are held
equal on every shared capture by ``tests/capture/test_robustness.py``, on
random input by ``tests/capture/test_formats_properties.py`` and on this
fuzzer's corpus by ``fuzz/replay_engines.py``.

Run (see fuzz/README.md)::

    .venv/bin/python fuzz/fuzz_capture.py fuzz/corpus/capture -max_len=65536
"""

from __future__ import annotations

import io
import sys

import atheris

# numpy and pandas are imported first so that only the project is instrumented.
import numpy  # noqa: F401
import pandas  # noqa: F401

with atheris.instrument_imports(include=["annotator"]):
    import annotator.capture.formats.engines as engines_module
    from annotator.errors import AnnotatorError
    from annotator.flows import read_flow_table
    from annotator.registry import load_registry

    engines_module.load_c = lambda: None  # the Python walk, always
    engines_module.load_numba = lambda: None
    REGISTRY = load_registry()  # the bundled snapshot, loaded once
    # One empty capture read here, so that the modules the pipeline imports
    # lazily (decoder, flow table, registry join) load, and are instrumented,
    # inside this block.
    read_flow_table(io.BytesIO(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")),
                    registry=REGISTRY)  # fmt: skip


def check_accounting(table) -> None:
    """Every packet the reader delivered is accounted for exactly once."""
    acc = table.accounting
    parts = acc["packets_in_flows"] + acc["packets_other"] + acc["packets_undecodable"]
    assert parts == acc["packets_total"], acc
    assert acc["packets_total"] == sum(c.packets for c in table.captures), acc
    assert acc["packets_in_flows"] == int(table.flows["packets"].sum()), acc
    assert acc["packets_other"] == int(table.other["packets"].sum()), acc
    assert acc["packets_undecodable"] == sum(acc["undecodable"].values()), acc
    assert acc["flows"] == len(table.flows), acc


def test_one_input(data: bytes) -> None:
    """One fuzz case: read ``data`` as a capture; only AnnotatorError may escape."""
    try:
        table = read_flow_table(io.BytesIO(data), registry=REGISTRY)
    except AnnotatorError as err:
        message = str(err)
        assert message and "\n" not in message, repr(message)
        return
    check_accounting(table)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
