"""Flow stage: packet columns into bidirectional flows with a client and a server."""
