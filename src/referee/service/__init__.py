"""The service part of referee."""
