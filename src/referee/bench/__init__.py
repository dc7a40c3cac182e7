"""The bench part of referee."""
