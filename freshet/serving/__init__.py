"""The serving side: bundle signature, request parsing, the FastAPI app and `freshet serve`.

Nothing here may import torch: the serving image does not have it.
"""
