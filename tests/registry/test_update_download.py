"""``update_registry`` against a real HTTP server on 127.0.0.1 (no mocks).

The server runs in a thread and serves byte strings by path: IANA's 2026 XML
from ../shared when present, the bundled snapshot exported as IANA CSV (a
plausible registry the project has on its own), and broken answers: a 404, an
implausibly small registry, an HTML page, a body shorter than its
Content-Length, and a billion-laughs XML.
"""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from annotator.errors import UpdateError
from annotator.registry.export import to_csv
from annotator.registry.resolve import (
    cache_dir,
    cached_registry_path,
    clear_default_cache,
    default_registry,
)
from annotator.registry.update import update_registry

SMALL_CSV = (
    "Service Name,Port Number,Transport Protocol,Description\r\n"
    "http,80,tcp,World Wide Web HTTP\r\n"
    "https,443,tcp,http protocol over TLS/SSL\r\n"
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
    "<registry><record><description>&lol3;</description></record></registry>\n"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        if self.path == "/truncated.xml":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b'<?xml version="1.0"?><registry>')
            self.close_connection = True
            return
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep test output clean
        return None


@pytest.fixture(scope="module")
def snapshot_csv() -> bytes:
    clear_default_cache()
    out = io.StringIO()
    to_csv(default_registry(), out)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def server(snapshot_csv: bytes) -> Iterator[str]:
    routes = {
        "/registry.csv": snapshot_csv,
        "/small.csv": SMALL_CSV.encode(),
        "/page.html": b"<html><body>Service Unavailable</body></html>",
        "/laughs.xml": LAUGHS.encode(),
    }
    _Handler.routes = routes
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture()
def official_url(server: str, shared: Path) -> str:
    _Handler.routes["/service-names-port-numbers.xml"] = (
        shared / "iana" / "service-names-port-numbers.xml"
    ).read_bytes()
    return f"{server}/service-names-port-numbers.xml"


@pytest.mark.shared
def test_downloads_the_official_xml_and_uses_it_by_default(official_url: str) -> None:
    clear_default_cache()
    assert default_registry().meta.extra["origin"] == "snapshot"
    path = update_registry(official_url, progress=False)
    assert path == cache_dir() / "registry.xml" and path.is_file()
    registry = default_registry()
    assert registry.meta.extra["origin"] == "cache"
    assert registry.meta.updated == "2026-08-17"
    assert len(registry) == 14_533
    assert registry.people  # the XML's contact table came along
    assert "cached update" in registry.meta.source


def test_installs_a_csv_and_keeps_the_previous_copy(server: str, snapshot_csv: bytes) -> None:
    first = update_registry(f"{server}/registry.csv", progress=False)
    assert first.name == "registry.csv" and first.read_bytes() == snapshot_csv
    assert not (cache_dir() / "registry.previous.csv").exists()

    # A second, different registry: drop the last 100 records (still plausible).
    lines = snapshot_csv.decode().split("\r\n")
    _Handler.routes["/newer.csv"] = "\r\n".join(lines[:-100]).encode()
    second = update_registry(f"{server}/newer.csv", progress=False)
    assert second == first and second.read_bytes() == _Handler.routes["/newer.csv"]
    assert (cache_dir() / "registry.previous.csv").read_bytes() == snapshot_csv
    assert cached_registry_path() == second
    assert sorted(p.name for p in cache_dir().iterdir()) == [
        "registry.csv",
        "registry.previous.csv",
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/missing.xml", "HTTP error 404"),
        ("/small.csv", "implausible registry, 2 records"),
        ("/page.html", "not a usable registry"),
        ("/truncated.xml", "truncated"),
        ("/laughs.xml", "not a usable registry"),
    ],
)
def test_failures_are_one_line_and_leave_the_installed_copy(
    server: str, path: str, expected: str, snapshot_csv: bytes
) -> None:
    installed = cache_dir() / "registry.csv"  # as a previous update left it
    installed.parent.mkdir(parents=True, exist_ok=True)
    installed.write_bytes(snapshot_csv)
    before = installed.read_bytes()
    with pytest.raises(UpdateError) as caught:
        update_registry(f"{server}{path}", progress=False)
    message = str(caught.value)
    assert expected in message and path in message and "\n" not in message
    assert installed.read_bytes() == before
    assert not any(p.name.startswith(".") for p in cache_dir().iterdir())  # no temp left


def test_connection_refused_is_an_update_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpdateError, match="cannot download"):
        update_registry(f"http://127.0.0.1:{port}/registry.xml", progress=False)
    assert cached_registry_path() is None


def test_local_file_source(tmp_path: Path, snapshot_csv: bytes) -> None:
    source = tmp_path / "downloaded-by-hand.csv"
    source.write_bytes(snapshot_csv)
    installed = update_registry(str(source), progress=False)
    assert installed.read_bytes() == snapshot_csv
    with pytest.raises(UpdateError, match="cannot read"):
        update_registry(str(tmp_path / "nope.xml"), progress=False)


def test_progress_bar_goes_to_stderr(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    update_registry(f"{server}/registry.csv", progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "registry update" in captured.err


def test_cache_folder_follows_platformdirs_without_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ANNOTATOR_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "annotator"


def test_unusable_cache_folder_is_an_update_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, snapshot_csv: bytes
) -> None:
    not_a_folder = tmp_path / "cache-is-a-file"
    not_a_folder.write_text("occupied", encoding="utf-8")
    monkeypatch.setenv("ANNOTATOR_CACHE", str(not_a_folder))
    source = tmp_path / "registry.csv"
    source.write_bytes(snapshot_csv)
    with pytest.raises(UpdateError, match="cannot write into the cache folder"):
        update_registry(str(source), progress=False)
