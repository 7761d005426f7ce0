"""A local, spec-faithful stand-in for Pylon's Issues API.

It is a product feature (`pylon-mcp sandbox`, `pylon-mcp --demo`) and the
upstream our tests and benchmarks trust, so its behaviour is written from the
spec on its own terms; it shares only spec *data* (the filter operator table)
with the client, never the client's validation code.
"""

from pylon_mcp.sandbox.app import Sandbox
from pylon_mcp.sandbox.faults import Fault
from pylon_mcp.sandbox.server import SandboxServer

__all__ = ["Fault", "Sandbox", "SandboxServer"]
