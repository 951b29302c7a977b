"""Kubeflow Pipelines: settings, the client, run claims, schedules and the pipeline store.

Nothing here imports kfp at import time; the client is made by `freshet.kfp.client`.
"""
