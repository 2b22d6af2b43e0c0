"""Read a registry file in any form users hold: the parsers behind ``load_registry``.

The form is chosen by content, never by file name: XML when the file starts
with an XML declaration or element, IANA's CSV when its first line is IANA's
CSV header, and the text pasted from IANA's web page (pipe tables or plain
text) when a "Service Name ... Port Number" header line appears.  Anything
else, and files that are empty, binary, unreadable or absurdly large, raise a
one-line :class:`~annotator.errors.RegistryError` naming the file.

This module only parses.  Which registry to use, and the record of where it
came from (``meta.extra["origin"]``), belong to
:mod:`annotator.registry.resolve`, whose :func:`~annotator.registry.resolve.load_registry`
is the public entry point built on :func:`read_registry`.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

from annotator.errors import RegistryError
from annotator.registry._registry import Registry
from annotator.registry.load_csv import load_csv

#: Eight times the full registry XML (about 4 MB): room to grow, refusal of the absurd.
MAX_BYTES = 32 * 1024 * 1024

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!DOCTYPE\s+html|html)\b", re.I | re.S)
_ANY_XML = re.compile(rb"^\s*<[?!A-Za-z_]")
_CSV_HEADER = re.compile(r'^\s*"?Service Name"?\s*,', re.I)
_TEXT_HEADER = re.compile(r"Service\s+Name\W+Port\s+Number", re.I)


def read_registry(source: str | PathLike[str] | bytes) -> Registry:
    """Parse the registry in a file (its path) or in raw bytes, whatever its form.

    Nothing is cached and ``meta.extra`` says nothing of the origin: use
    :func:`annotator.registry.load_registry` for that.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data, name = bytes(source), "<registry bytes>"
    else:
        name = str(source)
        data = _read(Path(source), name)
    return parse_registry(data, name)


def parse_registry(data: bytes, name: str) -> Registry:
    """Parse registry ``data`` read from ``name`` (used in error messages)."""
    if not data.strip():
        raise RegistryError(name, "empty file, not a registry")
    if len(data) > MAX_BYTES:
        raise RegistryError(name, f"too large for a registry ({len(data):,} bytes)")
    utf16 = data[:2] in _UTF16_BOMS
    if utf16:  # Windows "Unicode text" (Excel's tab-separated export, Notepad)
        head = data[:8192].decode("utf-16", errors="ignore").encode("utf-8")
    else:
        head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if _HTML.match(head):
        raise RegistryError(
            name,
            "an HTML page, not a registry (use IANA's XML or CSV, or paste the table as text)",
        )
    # The XML and pasted-text parsers are imported when a file needs them:
    # xml.etree, defusedxml and the text parser's many patterns would
    # otherwise slow every start of ``annotate``, which usually needs neither.
    if _ANY_XML.match(head):  # expat reads UTF-8 and UTF-16 (by its BOM) alike
        from annotator.registry.load_xml import load_xml

        return load_xml(data, name)
    text = _decode(data, name)
    first = next((line for line in text.splitlines() if line.strip()), "")
    if _CSV_HEADER.match(first):
        return load_csv(text, name)
    if _TEXT_HEADER.search(text):
        from annotator.registry.load_text import load_text

        return load_text(text, name)
    raise RegistryError(name, "not a registry (no IANA XML, CSV header or table header found)")


def _read(path: Path, name: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RegistryError(name, f"too large for a registry ({size:,} bytes)")
        return path.read_bytes()
    except RegistryError:
        raise
    except IsADirectoryError:
        raise RegistryError(name, "is a directory, not a registry file") from None
    except FileNotFoundError:
        raise RegistryError(name, "no such file") from None
    except PermissionError:
        raise RegistryError(name, "permission denied") from None
    except OSError as err:
        raise RegistryError(name, f"cannot read ({err.strerror or err})") from None


def _decode(data: bytes, name: str) -> str:
    """Text of a CSV or pasted registry (UTF-8, UTF-16 with BOM, else cp1252); binary is refused."""
    if data[:2] in _UTF16_BOMS:
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise RegistryError(name, "not valid UTF-16 text") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise RegistryError(name, "binary content (NUL bytes), not a registry")
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > 8:
        raise RegistryError(name, "binary content (control bytes), not a registry")
    return text
