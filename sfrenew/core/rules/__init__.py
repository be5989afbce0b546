"""The renewal rules, each a module of small pure functions."""
