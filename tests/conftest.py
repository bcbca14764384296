"""Shared fixtures come from the zephyr.testing pytest plugin (a pytest11 entry point)."""
