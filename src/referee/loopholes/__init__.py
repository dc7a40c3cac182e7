"""The loopholes part of referee."""
