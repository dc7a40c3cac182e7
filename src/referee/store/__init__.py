"""Persistence for the audit service."""
