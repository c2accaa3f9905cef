"""The tamper-evident audit trail: hash-chained events, checkpoints in the bucket, queries."""
