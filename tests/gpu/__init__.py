"""The GPU suite: one short real run per family on the device (see tests/gpu/conftest.py)."""
