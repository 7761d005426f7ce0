"""Knowledge: a local full-text index of published articles, macros and resolved issues (see service.py)."""

from pylon_mcp.knowledge.service import Knowledge

__all__ = ["Knowledge"]
