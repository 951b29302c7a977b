"""Data-update triggers: every data update starts exactly one pipeline run.

events (what arrives) -> routing (what to run) -> handler (run id, submit, ack/nack/dead-letter),
served by push (HTTP), pull (streaming pull) and watch (local directory).
"""
