"""The submissions part of referee."""
