"""Registers the shared fixtures of sdk_support with pytest."""

from sdk_support import *  # noqa: F401,F403
