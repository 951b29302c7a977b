"""Batch prediction: resolve a registered model, score an input with it, publish the parts."""
