"""`python -m benchmarks [--smoke]`: the same as benchmarks/run."""

from benchmarks.main import main

if __name__ == "__main__":
    raise SystemExit(main())
