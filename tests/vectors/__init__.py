"""Shared cross-language RunState vectors and the scenarios that produce them."""
