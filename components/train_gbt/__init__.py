"""The train_gbt step: gradient-boosted trees (scikit-learn), exported to the ONNX contract."""
