"""The fetch step."""
