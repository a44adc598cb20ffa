"""A module that fails while being imported (for ``trane check``'s exit code 2)."""

raise RuntimeError("this module cannot be imported")
