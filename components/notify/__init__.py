"""The notify step: an exit handler that posts the final state of a failed run."""
