"""A tiny Django Channels project that serves trane views (see asgi.py)."""
