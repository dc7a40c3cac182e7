"""Bundled example legs and claims: the demo and the tests audit these."""
