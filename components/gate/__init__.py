"""The gate step."""
