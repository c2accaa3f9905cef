"""Full, deduplicated backups of an archive into a target (another S3 bucket or a directory).

A snapshot copies every stored object version the catalog references, exactly as
stored (still encrypted), plus the audit checkpoints and an encrypted copy of the
catalog, into content-addressed blobs; an encrypted, authenticated manifest written
last marks it complete. See docs/architecture.md, "Backups".
"""
