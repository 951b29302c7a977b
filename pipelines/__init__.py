"""DAG wiring only: which step feeds which, resources, retries, caching and the gate."""
