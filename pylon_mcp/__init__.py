"""pylon-mcp: an MCP server for Pylon support issues, with a local sandbox of Pylon's Issues API."""

__version__ = "0.1.0"
