"""Command line: `pylon-mcp` (serve, the default), `pylon-mcp sandbox`, `pylon-mcp check`.

Imports stay inside the commands: a desktop client spawns `pylon-mcp` and waits
for it, so start-up only loads what the chosen command needs.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pylon_mcp import __version__


def _sandbox_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run the local Pylon Issues API sandbox on 127.0.0.1",
        description="Serve a local, spec-faithful emulation of Pylon's Issues API with seeded demo data.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    p.add_argument("--issues", type=int, default=300, help="number of seeded issues (default: 300)")
    p.add_argument("--seed", type=int, default=7, help="random seed for the demo data (default: 7)")
    p.add_argument("--token", default="sandbox-token", help="bearer token the sandbox accepts")
    p.add_argument(
        "--rate-limits",
        choices=("off", "spec"),
        default="off",
        help="enforce Pylon's per-endpoint per-minute limits from the spec (default: off)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pylon-mcp",
        description="MCP server for Pylon support issues.",
    )
    parser.add_argument("--version", action="version", version=f"pylon-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{sandbox}")
    _sandbox_parser(sub)
    return parser


def run_sandbox(args: argparse.Namespace) -> int:
    from pylon_mcp.sandbox import Sandbox
    from pylon_mcp.sandbox.faults import SPEC_RATE_LIMITS
    from pylon_mcp.sandbox.server import serve_forever

    limits = SPEC_RATE_LIMITS if args.rate_limits == "spec" else None
    sandbox = Sandbox(token=args.token, seed=args.seed, issues=args.issues, rate_limits=limits)
    print(
        f"Pylon sandbox: {len(sandbox.store)} issues (seed {args.seed}) at http://{args.host}:{args.port}\n"
        f"  token: {args.token}\n"
        f"  try:   curl -H 'Authorization: Bearer {args.token}' http://{args.host}:{args.port}/issues/1",
        file=sys.stderr,
        flush=True,
    )
    serve_forever(sandbox, args.host, args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command == "sandbox":
        return run_sandbox(args)
    parser.print_help(sys.stderr)
    return 2
