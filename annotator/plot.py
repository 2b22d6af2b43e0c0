"""Charts of an annotation, for notebooks: bytes by service, flows by port class
and evidence, flagged flows over time.

Each function takes an :class:`~annotator.AnnotateResult`, draws on ``ax`` (or on
a new figure when ``ax`` is None) and returns the matplotlib Axes; ``to_svg``
turns one into an inline ``<svg>``.  The charts are drawn by the report stage
(:mod:`annotator.report.charts`), which embeds the same ones in the HTML
report; matplotlib loads on first use, never at ``import annotator``.
"""

from annotator.report.charts import (
    EVIDENCE_COLORS,
    PORT_CLASSES,
    SEVERITY_COLORS,
    bytes_by_service,
    flag_timeline,
    flows_by_class,
    to_svg,
)

__all__ = [
    "EVIDENCE_COLORS",
    "PORT_CLASSES",
    "SEVERITY_COLORS",
    "bytes_by_service",
    "flag_timeline",
    "flows_by_class",
    "to_svg",
]
