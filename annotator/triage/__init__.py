"""Triage stage: flows x registry x evidence into labels, flags and severity."""
