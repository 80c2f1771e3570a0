"""The suite never changes the checkout: every test that edits, touches or builds works in a copy.

Collected last (see conftest), it compares the checkout with what the suite found at its start:
the same `git status`, and every tracked file with its modification time (a touched source file
makes every built run look out of date to make).
"""

from __future__ import annotations

import pytest

from tests.conftest import checkout_state


def test_the_suite_leaves_the_checkout_as_it_was(checkout_before):
    if checkout_before is None:
        pytest.skip("not a git checkout")
    status_before, times_before = checkout_before
    status_after, times_after = checkout_state()
    assert status_after == status_before
    changed = sorted(name for name, time in times_after.items() if times_before.get(name) != time)
    assert changed == []
