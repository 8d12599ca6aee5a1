"""The approvals inbox (``timestep serve``): HTTP only (a JSON API, live events and one web page).

What it shows comes from :mod:`timestep.runs`; decisions are recorded by the store.
"""

from ._app import create_app
from ._auth import User, check_token, csrf_token, new_token, parse_users, read_secret_file
from ._openapi import openapi_schema
from ._serve import serve

__all__ = [
    "User",
    "check_token",
    "create_app",
    "csrf_token",
    "new_token",
    "openapi_schema",
    "parse_users",
    "read_secret_file",
    "serve",
]
