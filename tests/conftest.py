"""Shared fixtures: float64 random systems for the symmetry and contract tests."""
import pytest
import torch


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
