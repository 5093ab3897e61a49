"""Fixtures: a fresh container file per test, and an open Fs on it."""

from __future__ import annotations

import pytest

import whefs


@pytest.fixture
def container(tmp_path):
    """The host path of a container file that does not exist yet."""
    return tmp_path / "test.whefs"


@pytest.fixture
def fs(container):
    """A read-write container, closed after the test."""
    with whefs.open(container, busy_timeout=2.0) as fs:
        yield fs
