"""Registry stage: the IANA Service Name and Transport Protocol Port Number Registry.

Public names: :class:`Registry` (records, metadata, people, lookups),
:class:`Record`, :class:`RegistryMeta`, :class:`Person`,
:func:`load_registry` (XML, CSV or pasted text, chosen by content),
:data:`TRANSPORTS` (transport names in code order) and :func:`port_class`.
"""

from annotator.registry._registry import Registry
from annotator.registry.model import TRANSPORTS, Person, Record, RegistryMeta, port_class
from annotator.registry.resolve import load_registry

__all__ = [
    "TRANSPORTS",
    "Person",
    "Record",
    "Registry",
    "RegistryMeta",
    "load_registry",
    "port_class",
]
