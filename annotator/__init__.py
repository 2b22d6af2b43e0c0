"""annotator: label capture flows by IANA-registered service and flag what needs a look."""

__version__ = "0.1.0"
