"""The pipeline's building blocks: one package per step (pure `core` + thin KFP `component`)."""
