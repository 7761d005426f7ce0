"""The baseline: a minimal MCPServer with an `echo` tool and a `fetch_issue` tool.

`fetch_issue` makes the same upstream request as pylon-mcp's get_issue (GET /issues/{n}
with a pooled httpx2 client, made on first use) and returns Pylon's JSON as-is: no validation, no rendering.

    python benchmarks/baseline_server.py                         # stdio
    python benchmarks/baseline_server.py --transport http --port 8001
    env BASELINE_UPSTREAM_URL / BASELINE_UPSTREAM_TOKEN: where fetch_issue sends its GET
"""

from __future__ import annotations

import argparse
import logging
import os

import httpx2
from mcp.server.mcpserver import MCPServer

_http: httpx2.AsyncClient | None = None  # made on first use: a minimal server does no work at start-up


def upstream() -> httpx2.AsyncClient:
    global _http
    if _http is None:
        url = os.environ.get("BASELINE_UPSTREAM_URL", "http://127.0.0.1:9")
        token = os.environ.get("BASELINE_UPSTREAM_TOKEN", "x")
        _http = httpx2.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return _http


server = MCPServer("baseline", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
async def fetch_issue(issue_id: str) -> str:
    """GET /issues/{issue_id} upstream and return the raw JSON body."""
    response = await upstream().get(f"/issues/{issue_id}")
    response.raise_for_status()
    return response.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    if args.transport == "stdio":
        server.run()
        return
    import uvicorn

    app = server.streamable_http_app(stateless_http=True, json_response=True)
    logging.getLogger("mcp").setLevel(logging.WARNING)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
