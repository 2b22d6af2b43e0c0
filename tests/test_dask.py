"""annotator.dask on a real two-worker LocalCluster: same result as one process.

A capture is cut into several classic-pcap files at record boundaries (so no
timestamp changes); the set annotated on the cluster must equal the set
annotated in one process and the unsplit file annotated whole, in every flow
column except ``capture`` and ``first_frame`` (which name the file a flow was
first seen in), in the findings and in the packet accounting.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import struct
import threading
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip(
    "distributed", reason="annotator.dask needs the dask extra: pip install 'annotator[dask]'"
)
pytest.importorskip("fsspec", reason="annotator.dask needs the dask extra (fsspec)")

import annotator  # noqa: E402
from annotator.dask import annotate_many, read_many  # noqa: E402
from annotator.errors import AnnotatorError, InputError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PLACE_DEPENDENT = ["capture", "first_frame"]


def split_pcap(src: Path, out: Path, pieces: int) -> list[Path]:
    """Cut a classic pcap into ``pieces`` files of consecutive whole records."""
    data = src.read_bytes()
    header, pos = data[:24], 24
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    records = []
    while pos + 16 <= len(data):
        (stored,) = struct.unpack_from(order + "I", data, pos + 8)
        records.append(data[pos : pos + 16 + stored])
        pos += 16 + stored
    out.mkdir(parents=True, exist_ok=True)
    step = -(-len(records) // pieces)
    paths = []
    for k in range(pieces):
        path = out / f"{src.stem}-{k:02d}.pcap"
        path.write_bytes(header + b"".join(records[k * step : (k + 1) * step]))
        paths.append(path)
    return paths


def assert_same(got: annotator.AnnotateResult, want: annotator.AnnotateResult) -> None:
    """Equal flows (bar the place columns), findings and accounting."""
    assert len(got.flows) > 0
    pd.testing.assert_frame_equal(
        got.flows.drop(columns=PLACE_DEPENDENT), want.flows.drop(columns=PLACE_DEPENDENT)
    )
    pd.testing.assert_frame_equal(got.findings, want.findings)
    assert got.accounting == want.accounting
    pd.testing.assert_frame_equal(got.other, want.other)


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes with one thread each, no dashboard, quiet logs."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=50,
    ) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def mixed_parts(tmp_path_factory) -> list[Path]:
    return split_pcap(ROOT / "samples" / "mixed.pcap", tmp_path_factory.mktemp("mixed"), 4)


@pytest.fixture(scope="module")
def served(mixed_parts):
    """A real HTTP server on 127.0.0.1 serving the split files; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(mixed_parts[0].parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_mixed_split_equals_one_process_and_whole_file(client, mixed_parts):
    seen = []
    got = annotate_many(mixed_parts[::-1], client, progress=lambda p, b: seen.append((p, b)))
    whole = annotator.annotate(ROOT / "samples" / "mixed.pcap")
    assert_same(got, annotator.annotate(mixed_parts))
    assert_same(got, whole)
    # Flows crossing a boundary are one flow: the set has the whole file's count.
    assert set(got.flows["capture"]) <= {str(p) for p in mixed_parts}
    assert len(set(got.flows["capture"])) > 1
    # Progress was fed as each file finished, ending at the whole set.
    assert len(seen) == len(mixed_parts)
    assert seen[-1] == (
        whole.accounting["packets_total"],
        sum(p.stat().st_size for p in mixed_parts),
    )
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)


def test_generated_capture_split_equals_whole(client, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_flow_capture", ROOT / "benchmarks" / "make_flow_capture.py"
    )
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    big = tmp_path / "big.pcap"
    maker.make_capture(big, 60_000)
    parts = split_pcap(big, tmp_path / "parts", 5)
    got = annotate_many(parts, client)
    whole = annotator.annotate(big)
    assert whole.accounting["packets_total"] == 60_000
    assert_same(got, whole)
    assert_same(got, annotator.annotate(parts))
    assert [c.name for c in got.captures] == [str(p) for p in parts]


def test_http_urls_are_read_on_the_workers(client, served, mixed_parts):
    urls = [f"{served}/{p.name}" for p in mixed_parts]
    got = annotate_many(urls, client)
    assert_same(got, annotator.annotate(ROOT / "samples" / "mixed.pcap"))
    # The capture is named by its URL, and its stored size is known.
    assert set(got.flows["capture"]) <= set(urls)
    assert [c.name for c in got.captures] == urls
    assert [c.size for c in got.captures] == [p.stat().st_size for p in mixed_parts]


def test_file_url(client, mixed_parts):
    got = annotate_many([p.as_uri() for p in mixed_parts], client)
    assert_same(got, annotator.annotate(mixed_parts))


def test_sha256_option_reaches_the_workers(client, mixed_parts):
    hashed = annotate_many(mixed_parts, client)
    bare = annotate_many(mixed_parts, client, sha256=False)
    assert [c.sha256 for c in hashed.captures] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in mixed_parts
    ]
    assert [c.sha256 for c in bare.captures] == [None] * len(mixed_parts)
    assert_same(bare, hashed)


def test_read_many_hashes_only_when_asked_like_read_flows(client, mixed_parts):
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in mixed_parts]
    assert [c.sha256 for c in read_many(mixed_parts, client).captures] == [None] * len(digests)
    asked = read_many(mixed_parts, client, sha256=True)
    assert [c.sha256 for c in asked.captures] == digests


def test_missing_file_is_one_line_error(client, mixed_parts, tmp_path):
    missing = tmp_path / "absent.pcap"
    with pytest.raises(InputError) as caught:
        annotate_many([*mixed_parts, missing], client)
    assert str(caught.value) == f"{missing}: no such file"


def test_missing_url_is_one_line_error(client, served):
    url = f"{served}/absent.pcap"
    with pytest.raises(InputError) as caught:
        annotate_many([url], client)
    assert str(caught.value) == f"{url}: no such file"


def test_not_a_capture_is_one_line_error(client, tmp_path):
    junk = tmp_path / "notes.pcap"
    junk.write_bytes(b"these are not packets\n" * 10)
    with pytest.raises(AnnotatorError) as caught:
        annotate_many([junk], client)
    message = str(caught.value)
    assert message.startswith(f"{junk}: not a pcap or pcapng file")
    assert "\n" not in message


def test_scheduler_address_string(cluster, mixed_parts):
    got = annotate_many(mixed_parts, cluster.scheduler_address)
    assert_same(got, annotator.annotate(mixed_parts))


def test_directory_is_expanded_on_the_driver(client, mixed_parts):
    got = annotate_many(mixed_parts[0].parent, client)
    assert sorted(c.name for c in got.captures) == sorted(str(p) for p in mixed_parts)
    assert_same(got, annotator.annotate(mixed_parts))


@pytest.mark.parametrize("address", ["foo", "tcp://", "tcp://scheduler"])
def test_a_malformed_scheduler_address_is_a_usage_error(address, mixed_parts, capsys):
    # Before any connection: exit 2 naming the address, not an internal error.
    from annotator.cli import main

    assert main([str(mixed_parts[0]), "--dask", address, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "is not a Dask scheduler address" in err and err.count("\n") == 1
