"""Flow stage: packet columns into bidirectional flows with a client and a server.

The public entry point is :func:`read_flows`; :class:`FlowAggregator` is the
streaming core for callers that produce their own packet batches.
"""

from annotator.flows.aggregate import DEFAULT_IDLE_TIMEOUT, FlowAggregator
from annotator.flows.read import read_flows

__all__ = ["DEFAULT_IDLE_TIMEOUT", "FlowAggregator", "read_flows"]
