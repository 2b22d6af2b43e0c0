"""Flow stage: packet columns into bidirectional flows with a client and a server.

The stage's entry point is :func:`read_flow_table` (capture files in, a
:class:`~annotator.result.FlowTable` out), configured by one
:class:`ReadOptions`; :func:`annotator.read_flows` is its public face.
:class:`FlowAggregator` is the streaming core for callers that produce their
own packet batches.
"""

from annotator.flows.aggregate import FlowAggregator
from annotator.flows.options import ReadOptions
from annotator.flows.read import read_flow_table
from annotator.flows.timeouts import DEFAULT_IDLE_TIMEOUT

__all__ = ["DEFAULT_IDLE_TIMEOUT", "FlowAggregator", "ReadOptions", "read_flow_table"]
