"""The MCP surface: everything a model sees, in one place.

- `tools/`: one module per tool family (issues, writes, conversation, directory, customers,
  knowledge, attachments), with `registry.py` naming the tools and their toolsets;
- `resources/`: resources and templates, one module per kind (issues, messages, customers, articles);
- `prompts.py` and `completions.py`.

Only server.py (which registers all of it) and cli.py import from here; nothing below the
surface (the client, rendering, shared state) knows it exists.
"""
