"""Speaks Pylon's HTTP Issues API. Knows nothing about MCP."""
