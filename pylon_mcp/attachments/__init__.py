"""Reading what customers attach: the type from the bytes (sniff), images (Pillow), PDFs (pypdf), text.

Fetching is not here: pylon_mcp/fetch.py is the one guarded door for untrusted URLs.
Pillow and pypdf are imported on first use (start-up time is measured), and their work runs
in worker threads, a few at a time (convert.py), never on the event loop.
"""
