"""Opt-in fixtures shared by several test modules (import them into a module).

``one_thread`` is autouse: importing it into a module runs all of that module's tests on one torch
thread. Tiny models gain nothing from two threads, and on a loaded 2-core machine OpenMP's
spin-waiting makes two threads up to 100x slower than one.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run the importing module's tests on one torch thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
