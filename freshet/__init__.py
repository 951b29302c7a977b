"""freshet: pipeline-as-code continuous training on Kubeflow and Vertex AI Pipelines."""

__version__ = "0.1.0"
