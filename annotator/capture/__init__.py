"""Capture stage: file formats and link/IP/transport decoding into packet columns."""
