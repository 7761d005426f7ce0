"""Rendering for models: compact Markdown text plus structured content, never a raw API dump."""
