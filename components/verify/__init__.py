"""The verify step: start the serving artifact, check its answers, tear it down."""
