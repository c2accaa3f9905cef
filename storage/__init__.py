"""S3-compatible object storage: the client wrapper and the embedded SeaweedFS server."""
