"""Load IANA's registry XML (service-names-port-numbers.xml).

Parsed with defusedxml, refusing DTDs, entity declarations and external
references outright: a registry file never needs them, and refusing them
stops billion-laughs, quadratic blowup and external-entity attacks before any
expansion happens.

Mapping to IANA's CSV columns (the same mapping IANA uses for its own CSV):

* ``date`` / ``updated`` attributes -> registration / modification date;
* ``<assignee>`` holds the assignee's person references; person references
  directly under ``<record>`` are the contact, and also the assignee when the
  record has no ``<assignee>`` element;
* other references (rfc, draft, uri, text, note) -> Reference, as ``[RFC6335]``;
* ``<sc>`` -> Service Code, ``<unauthorized>`` -> Unauthorized Use Reported,
  ``<note>`` -> Assignment Notes; ``<br/>`` and paragraphs become spaces.
"""

from __future__ import annotations

import functools
import io
import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import iterparse

from annotator.errors import RegistryError
from annotator.registry._registry import Registry
from annotator.registry.model import COLUMNS, TRANSPORTS, Person, Record, RegistryMeta

#: The ``id`` of the root element of IANA's service name and port number registry.
PORT_REGISTRY_ID = "service-names-port-numbers"
#: A registry nests four levels deep; anything far deeper is not one.
MAX_DEPTH = 32
_PORT = re.compile(r"^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$")
_FIELDS = ("name", "protocol", "number", "description", "sc", "unauthorized", "note")


def load_xml(data: bytes, name: str) -> Registry:
    """Parse registry XML ``data`` (from file ``name``) into a :class:`Registry`."""
    try:
        root = _parse(data, name)
    except defusedxml.DTDForbidden:
        raise RegistryError(name, "refused: the XML declares a DTD (not allowed)") from None
    except defusedxml.EntitiesForbidden:
        raise RegistryError(name, "refused: the XML declares entities (not allowed)") from None
    except defusedxml.ExternalReferenceForbidden:
        raise RegistryError(name, "refused: the XML references external content") from None
    except ParseError as err:
        raise RegistryError(name, f"malformed or truncated XML ({err})") from None
    except (LookupError, ValueError) as err:  # expat on an encoding="..." it cannot use
        raise RegistryError(name, f"XML in an unsupported encoding ({err})") from None
    ns = str(root.tag)[: str(root.tag).find("}") + 1]  # IANA's namespace, or none
    return _registry(root, ns, name)


def _parse(data: bytes, name: str) -> Element:
    """The document tree, refusing early a root other than <registry> and deep nesting.

    Both checks run as elements start, so a large non-registry or hostile
    document is turned away without being read to its end.
    """
    depth = 0
    root = None
    events = iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    for event, el in events:
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if root is None:
            root = el
            if _local(el.tag) != "registry":
                raise RegistryError(name, f"not an IANA registry (XML root is <{_local(el.tag)}>)")
            kind = el.get("id")
            if kind is not None and kind != PORT_REGISTRY_ID:
                # IANA's other registries share the root element (protocol
                # numbers, media types...): their records would load as
                # service names without ports and every port look unassigned.
                raise RegistryError(
                    name, f"IANA's {kind!r} registry, not the port number registry "
                    f"({PORT_REGISTRY_ID!r})"
                )  # fmt: skip
        if depth > MAX_DEPTH:
            raise RegistryError(name, f"refused: elements nested deeper than {MAX_DEPTH} levels")
    if root is None:  # pragma: no cover - expat reports "no element found" first
        raise RegistryError(name, "no XML element found")
    return root


def _registry(root: Element, ns: str, name: str) -> Registry:
    meta = RegistryMeta(
        title=_text(root.find(f"{ns}title")),
        updated=_text(root.find(f"{ns}updated")),
        note=_registry_note(root, ns),
        source=name,
        format="xml",
        columns_available=frozenset(COLUMNS),
    )
    records: list[Record] = []
    for position, el in enumerate(root.iter(f"{ns}record"), 1):
        rec = _record(el, len(records), meta, position)
        if rec is not None:
            records.append(rec)
    if not records:
        raise RegistryError(name, "no port or service records in this registry XML")
    return Registry(records, meta, _people(root, ns))


@functools.lru_cache(maxsize=512)
def _local(tag: object) -> str:
    """Tag name without its namespace (cached: a registry uses a dozen tags)."""
    name = str(tag)
    return name[name.rfind("}") + 1 :]


def _text(el: Element | None) -> str:
    """Text of an element with line breaks folded and references written as [REF]."""
    if el is None:
        return ""
    parts = [el.text or ""]
    for child in el:
        tag = _local(child.tag)
        if tag == "xref":
            parts.append(_xref(child))
        elif tag in ("br", "paragraph"):
            parts.append(" " + _text(child) + " ")
        else:
            parts.append(_text(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _xref(el: Element) -> str:
    """A reference as IANA's CSV writes it: ``[RFC6335]``, ``[draft-x]``, ``[Person_Id]``."""
    kind = el.get("type", "")
    data = el.get("data", "")
    label = " ".join((el.text or "").split())
    if kind == "rfc":
        return f"[{data.upper()}]" if data else label
    if kind == "text":
        return label
    return f"[{label or data}]"


def _registry_note(root: Element, ns: str) -> str:
    """The registry's untitled note (with IANA's endorsement caveat), line breaks kept."""
    for note in root.findall(f"{ns}note"):
        if not note.get("title"):
            parts = [note.text or ""]
            for child in note:
                parts.append(_xref(child) if _local(child.tag) == "xref" else _text(child))
                parts.append(child.tail or "")
            lines = [" ".join(line.split()) for line in "".join(parts).strip().splitlines()]
            return "\n".join(lines)
    return ""


def _record(el: Element, order: int, meta: RegistryMeta, position: int) -> Record | None:
    """One <record> as a Record; None (counted in ``meta``) when malformed.

    ``order`` is its place among the records kept; ``position`` its place in
    the file (1-based), which the skip reasons name.
    """
    fields: dict[str, str] = {}
    persons: list[str] = []
    refs: list[str] = []
    assignee = contact = None
    for child in el:  # one pass over the children: this loop runs once per record
        tag = _local(child.tag)
        if tag == "xref":
            (persons if child.get("type") == "person" else refs).append(_xref(child))
        elif tag == "assignee":
            assignee = "".join(_xref(x) for x in child)
        elif tag == "contact":
            contact = "".join(_xref(x) for x in child)
        elif tag in _FIELDS and tag not in fields:
            fields[tag] = _text(child) if len(child) else " ".join((child.text or "").split())
    number = fields.get("number", "")
    lo: int | None = None
    hi: int | None = None
    if number:
        m = _PORT.match(number)
        if m is not None:
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo is None or hi is None or hi > 65535 or lo > hi:
            meta.skip(f"record {position}: bad port number {number!r}")
            return None
    transport = fields.get("protocol", "").lower()
    if transport and transport not in TRANSPORTS:
        meta.skip(f"record {position}: unknown transport {transport!r}")
        return None
    service = fields.get("name", "")
    if not service and lo is None:
        meta.skip(f"record {position}: neither a service name nor a port")
        return None
    bare = "".join(persons)
    return Record.build(
        service,
        lo,
        hi,
        transport,
        order=order,
        normalized=True,
        description=fields.get("description", ""),
        assignee=bare if assignee is None else assignee,
        contact=bare if contact is None else contact,
        registration_date=el.get("date", ""),
        modification_date=el.get("updated", ""),
        reference="".join(refs),
        service_code=fields.get("sc", ""),
        unauthorized_use=fields.get("unauthorized", ""),
        notes=fields.get("note", ""),
    )


def _people(root: Element, ns: str) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for p in root.iter(f"{ns}person"):
        pid = p.get("id", "")
        if pid:
            people[pid] = Person(
                id=pid,
                name=_text(p.find(f"{ns}name")),
                org=_text(p.find(f"{ns}org")),
                uri=_text(p.find(f"{ns}uri")),
                updated=_text(p.find(f"{ns}updated")),
            )
    return people
