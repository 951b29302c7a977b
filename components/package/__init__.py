"""The package step: the serving bundle (ONNX + signature + golden examples)."""
