"""Benchmarks for pylon-mcp, each figure next to a baseline measured in the same run. See benchmarks/README.md."""
