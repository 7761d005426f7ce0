"""`python -m pylon_mcp` does what the `pylon-mcp` console script does."""

from pylon_mcp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
