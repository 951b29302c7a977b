"""Kept for existing imports: the Cloud Storage registry lives in `freshet.registry.gcs`."""

from freshet.registry.gcs import GcsRegistry

__all__ = ["GcsRegistry"]
