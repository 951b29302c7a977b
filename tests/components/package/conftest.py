"""The mixed-table and regression bundles (the digits ones come from tests/conftest.py)."""

from tests.fakes.bundles import (  # noqa: F401
    mixed_bundle,
    mixed_trained,
    regression_bundle,
    regression_trained,
)
