"""Google Cloud: Vertex AI session, published templates, schedules, run labels.

Every module here imports google-cloud-aiplatform and kfp inside its functions, so importing
`freshet.gcp` stays cheap (`freshet --help` must not load the SDK).
"""
