"""Command line: `pylon-mcp` (serve, the default), `pylon-mcp check`, `pylon-mcp sandbox`.

Imports stay inside the commands: a desktop client spawns `pylon-mcp` and waits
for it, so start-up only loads what the chosen command needs. Everything
human-facing goes to stderr; in stdio mode stdout carries only JSON-RPC.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pylon_mcp import __version__
from pylon_mcp.config import MISSING_TOKEN, OPTIONS, ConfigError, Option, Settings
from pylon_mcp.pylon.auth import RedactingFilter, Secret

if TYPE_CHECKING:
    from pylon_mcp.pylon.errors import PylonError
    from pylon_mcp.sandbox import SandboxServer

DEMO_TOKEN = "demo-token"  # noqa: S105 - the local demo sandbox's published token


# --help groups the options by what they are about; every option sits in exactly one group.
OPTION_GROUPS: dict[str, tuple[str, ...]] = {
    "Pylon": ("api_token", "api_url", "timeout", "read_only", "demo"),
    "transport and HTTP": ("transport", "host", "port", "auth_token", "insecure_no_auth", "allowed_hosts",
                           "allowed_origins", "max_body_bytes"),
    "OAuth (HTTP mode)": ("oauth_issuer", "resource_url", "oauth_audience", "oauth_jwks_url",
                          "oauth_introspection_url", "oauth_client_id", "oauth_client_secret", "oauth_scopes",
                          "oauth_email_claim", "oauth_writes_need_user"),
    "tools and output": ("toolsets", "tools", "exclude_tools", "enable_delete", "allow_customer_replies",
                         "body_chars", "resource_ttl", "recent_days"),
    "knowledge": ("knowledge_index", "knowledge_refresh", "knowledge_days"),
    "attachments": ("attachment_max_bytes", "attachment_allowed_hosts"),
    "replicas": ("redis_url", "rate_budget"),
    "logging": ("log_level",),
}  # fmt: skip
# What `check` is about; it accepts every other option too (hidden from its help), to check the
# configuration they make.
CHECK_SHOWN = ("api_token", "api_url", "timeout", "demo", "redis_url")


def _add_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, option: Option, *, suppress: bool, hidden: bool
) -> None:
    default = argparse.SUPPRESS if suppress else None
    text = argparse.SUPPRESS if hidden else f"{option.help} [env: {option.env}]"
    if option.kind is bool:
        # --read-only and --no-read-only: a flag can turn off what the environment turned on.
        parser.add_argument(option.flag, dest=option.name, action=argparse.BooleanOptionalAction,
                            default=default, help=text)  # fmt: skip
    else:
        # Choices are matched case-insensitively, as the environment variables are.
        parser.add_argument(option.flag, dest=option.name, default=default, metavar=option.name.upper(),
                            type=str.lower if option.choices else None,
                            choices=option.choices or None, help=text)  # fmt: skip


def _add_options(
    parser: argparse.ArgumentParser, *, suppress: bool, shown: tuple[str, ...] | None = None
) -> None:
    by_name = {option.name: option for option in OPTIONS}
    for title, names in OPTION_GROUPS.items():
        visible = [name for name in names if shown is None or name in shown]
        group = parser.add_argument_group(f"{title} options") if visible else parser
        for name in names:
            _add_option(group, by_name[name], suppress=suppress, hidden=name not in visible)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pylon-mcp",
        usage="pylon-mcp [options] [check | sandbox]",
        description="MCP server for Pylon support issues. Serves MCP over stdio (default) or Streamable HTTP.",
        epilog="Flags win over environment variables; every yes/no flag has a --no- form. "
        "Try it without a token: pylon-mcp --demo",
    )
    parser.add_argument("--version", action="version", version=f"pylon-mcp {__version__}")
    _add_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="{check,sandbox}")
    check = sub.add_parser(
        "check",
        usage="pylon-mcp check [options]",
        help="verify the token and region with GET /me, print the configuration",
        description="Ask Pylon who the token belongs to (GET /me), then print the effective configuration "
        "and the tools a server would offer. Exit code 0 when Pylon accepts the token.",
        epilog="It takes every server option too (see pylon-mcp --help), to check the configuration they make.",
    )
    _add_options(check, suppress=True, shown=CHECK_SHOWN)
    sandbox = sub.add_parser(
        "sandbox",
        help="run the local Pylon Issues API sandbox on 127.0.0.1",
        description="Serve a local, spec-faithful emulation of Pylon's Issues API with seeded demo data.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    sandbox.add_argument("--issues", type=int, default=300, help="number of seeded issues (default: 300)")
    sandbox.add_argument("--seed", type=int, default=7, help="random seed for the demo data (default: 7)")
    sandbox.add_argument("--token", default="sandbox-token", help="bearer token the sandbox accepts")
    sandbox.add_argument(
        "--anchor",
        type=_anchor,
        default=None,
        help="RFC3339 time the seeded issues are dated back from (default: now); pins every byte of the data",
    )
    sandbox.add_argument(
        "--rate-limits",
        choices=("off", "spec"),
        default="off",
        help="enforce Pylon's per-endpoint per-minute limits from the spec (default: off)",
    )
    return parser


def _anchor(value: str) -> datetime:
    from pylon_mcp.pylon.timefmt import parse_rfc3339

    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--anchor: {exc}") from None


def load_settings(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]) -> Settings:
    overrides = {option.name: getattr(args, option.name, None) for option in OPTIONS}
    return Settings.load(environ, overrides)


def configure_logging(level: str, secrets: Sequence[Secret] = ()) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    if secrets:
        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactingFilter(secrets))
    # The SDK logs each tool failure at INFO; ours already carry what matters.
    if level != "debug":
        for noisy in ("mcp", "httpx2", "httpcore", "uvicorn.access"):
            logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_demo(settings: Settings) -> tuple[Settings, SandboxServer]:
    from pylon_mcp.pylon.auth import Secret
    from pylon_mcp.sandbox import Sandbox, SandboxServer

    if settings.api_token:
        say("pylon-mcp: --demo ignores PYLON_API_TOKEN; nothing is sent to Pylon.")
    server = SandboxServer(Sandbox(token=DEMO_TOKEN)).start()
    say(
        f"pylon-mcp: DEMO MODE - serving made-up demo data from a local Pylon sandbox at {server.url} "
        f"({len(server.sandbox.store)} issues). Nothing here is a real Pylon account."
    )
    return settings.with_(api_token=Secret(DEMO_TOKEN), api_url=server.url), server


def client_snippet(url: str, settings: Settings) -> str:
    headers = ', "headers": {"Authorization": "Bearer <PYLON_MCP_AUTH_TOKEN>"}' if settings.auth_token else ""
    auth_flag = ' --header "Authorization: Bearer <PYLON_MCP_AUTH_TOKEN>"' if settings.auth_token else ""
    if settings.oauth and settings.resource_url:
        # Clients must use the public URL tokens are issued for; they sign people in by themselves.
        health = f"{url.removesuffix('/mcp')}/healthz"
        url = settings.resource_url
        return (
            f"MCP endpoint: {url}  (listening locally; health: {health})\n"
            f"OAuth: each person signs in with {settings.oauth_issuer} on first use\n"
            "Add it to a client:\n"
            f"  Claude Code:  claude mcp add --transport http pylon {url}\n"
            f'  JSON config:  {{"mcpServers": {{"pylon": {{"type": "http", "url": "{url}"}}}}}}\n'
            "Stop with Ctrl+C."
        )
    from pylon_mcp.hosting.http import is_wildcard

    # A wildcard bind prints a loopback URL (see http.client_url): say where else it answers.
    everywhere = (
        f"Listening on every interface ({settings.host}): from another machine or outside a container, "
        "use this machine's name or address and the port published for it.\n"
        if is_wildcard(settings.host)
        else ""
    )
    return (
        f"MCP endpoint: {url}  (health: {url.removesuffix('/mcp')}/healthz)\n"
        f"{everywhere}"
        "Add it to a client:\n"
        f"  Claude Code:  claude mcp add --transport http pylon {url}{auth_flag}\n"
        f'  JSON config:  {{"mcpServers": {{"pylon": {{"type": "http", "url": "{url}"{headers}}}}}}}\n'
        "Stop with Ctrl+C."
    )


# Started by hand in a terminal, a stdio server waits silently for JSON-RPC on stdin: say so.
STDIO_TERMINAL_HINT = (
    "pylon-mcp: waiting for an MCP client on stdin/stdout (an MCP client starts this command itself). "
    "To try it by hand: pylon-mcp --demo --transport http, then connect to the URL it prints, or run "
    "npx @modelcontextprotocol/inspector pylon-mcp --demo. Ctrl+C stops."
)


def _stdin_is_a_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):  # closed or detached stdin
        return False


def run_server(settings: Settings) -> int:
    settings.check_http_security()
    sock = None
    if settings.transport == "http":
        from pylon_mcp.hosting.http import bind

        sock = bind(settings)  # first: a taken port is one line, before any banner
    demo = None
    if settings.demo:
        settings, demo = start_demo(settings)
    if settings.transport == "stdio" and not settings.api_token:
        # A desktop client shows a server that exits at start only as "Connection closed", and
        # stderr lands in a log file few people open. Serving anyway lets every tool call answer
        # with the setup error, in the chat where the person looks (see README, Troubleshooting).
        say(f"pylon-mcp: {MISSING_TOKEN}. Serving anyway: every tool call will say so.")
    else:
        settings.require_token()  # HTTP: whoever starts a server reads its stderr
    try:
        from pylon_mcp.server import build_server

        server = build_server(settings)
        if settings.transport == "stdio":
            import anyio

            if _stdin_is_a_terminal():
                say(STDIO_TERMINAL_HINT)

            anyio.run(server.run_stdio_async)
        else:
            from pylon_mcp.hosting.http import serve

            serve(server, settings, on_ready=lambda url: say(client_snippet(url, settings)), sock=sock)
    except KeyboardInterrupt:
        pass
    finally:
        from pylon_mcp import offload

        offload.shutdown()  # worker processes, if a heavy job started them
        if demo is not None:
            demo.stop()
    return 0


def run_check(settings: Settings) -> int:
    import anyio

    from pylon_mcp.pylon.client import PylonClient
    from pylon_mcp.pylon.errors import PylonError
    from pylon_mcp.surface.tools.registry import select_tools

    offered, _ = select_tools(settings)  # a wrong toolset or tool name fails here, as it would at start-up
    demo = None
    if settings.demo:
        settings, demo = start_demo(settings)
    try:
        settings.require_token()
        client = PylonClient(settings.api_token, base_url=settings.api_url, timeout=settings.timeout)

        async def me() -> Any:
            async with client:
                return await client.me()

        try:
            organisation = anyio.run(me)
        except PylonError as exc:
            print(f"FAILED: {check_failure(client.base_url, settings.timeout, exc)}")
            return 1
        print(
            f"OK: {client.base_url} accepted the token for organisation {organisation.name!r} ({organisation.id})."
        )
        if not check_shared_state(settings):
            return 1
        print("Effective configuration:")
        for env, value in settings.describe().items():
            print(f"  {env}={value}")
        print(f"Tools offered ({len(offered)}): {', '.join(tool.name for tool in offered) or 'none'}")
        return 0
    finally:
        if demo is not None:
            demo.stop()


def check_failure(base_url: str, timeout: float, error: PylonError) -> str:
    """What happened to the check, in words: no answer (and why), or what Pylon answered."""
    from pylon_mcp.pylon.errors import PylonAPIError, PylonAuthError, PylonTimeout, PylonTransportError
    from pylon_mcp.render.errors import describe

    if isinstance(error, PylonTimeout):
        return (
            f"no answer from {base_url} within {timeout:g}s (timeout). Check the network and PYLON_API_URL, "
            "or give Pylon longer with PYLON_TIMEOUT."
        )
    if isinstance(error, PylonTransportError) and error.unreachable:
        why = error.reason or str(error)
        return f"could not reach {base_url}: {why}. Check PYLON_API_URL (or unset it), DNS and the network."
    if isinstance(error, PylonAuthError):
        return f"{base_url} refused the token: {describe(error)}"
    if isinstance(error, PylonAPIError):
        return f"{base_url} answered the check with an error: {describe(error)}"
    return f"the check failed: {describe(error)}"


def check_shared_state(settings: Settings) -> bool:
    """With PYLON_MCP_REDIS_URL: can this process reach the Redis the replicas share?"""
    if not settings.redis_url:
        return True
    import anyio

    from pylon_mcp.shared import open_shared_state

    shared = open_shared_state(settings)

    async def problem() -> str | None:
        try:
            await shared.start()  # as a server would: connect and subscribe to change notifications
            return await shared.problem()
        finally:
            await shared.aclose()

    why = anyio.run(problem)
    print(f"FAILED: {why}" if why else "OK: the shared state (Redis) answers.")
    return why is None


def run_sandbox(args: argparse.Namespace) -> int:
    from pylon_mcp.sandbox import Sandbox
    from pylon_mcp.sandbox.faults import SPEC_RATE_LIMITS
    from pylon_mcp.sandbox.server import serve_forever

    limits = SPEC_RATE_LIMITS if args.rate_limits == "spec" else None
    sandbox = Sandbox(
        token=args.token, seed=args.seed, issues=args.issues, rate_limits=limits, anchor=args.anchor
    )
    say(
        f"Pylon sandbox: {len(sandbox.store)} issues (seed {args.seed}) at http://{args.host}:{args.port}\n"
        f"  token: {args.token}\n"
        f"  try:   curl -H 'Authorization: Bearer {args.token}' http://{args.host}:{args.port}/issues/1"
    )
    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(sandbox, args.host, args.port)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":
        configure_logging("warning")
        return run_sandbox(args)
    try:
        settings = load_settings(args, os.environ)
    except ConfigError as exc:
        say(f"pylon-mcp: {exc}")
        return 2
    configure_logging(settings.log_level, (settings.api_token, settings.auth_token))
    try:
        if args.command == "check":
            return run_check(settings)
        return run_server(settings)
    except ConfigError as exc:
        say(f"pylon-mcp: {exc}")
        return 2
