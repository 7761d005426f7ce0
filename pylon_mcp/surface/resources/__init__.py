"""MCP resources and resource templates, one module per kind: issues (recent listings, one issue,
one state, one tag), messages (an issue's conversation), customers (account and contact cards),
articles (a published help article)."""
