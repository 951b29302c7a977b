"""The serving side: bundle files, request parsing, the FastAPI app and `freshet serve`.

Nothing here may import torch, scikit-learn, pandas or onnx: the serving image has none.
"""
