"""Rulebooks shipped with projectone: TOML files read through importlib.resources."""
