"""Shared fixtures: float64 random systems for the symmetry and contract tests."""

import pytest
import torch


def _default_dtype(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def float64():
    yield from _default_dtype(torch.float64)


@pytest.fixture
def float32_default():
    """torch's own default dtype, float32, whatever an earlier test set (a model built
    under it must still be exactly covariant: test_exact_constants.py)."""
    yield from _default_dtype(torch.float32)
