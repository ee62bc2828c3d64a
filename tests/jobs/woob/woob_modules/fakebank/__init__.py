"""A fake bank and biller for Hearth's tests: a real woob module (CapBank, CapDocument)."""
from .module import FakebankModule

__all__ = ["FakebankModule"]
