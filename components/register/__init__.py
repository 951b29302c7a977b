"""The register step."""
