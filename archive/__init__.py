"""The records archive: filing, versioning, reading and checking encrypted records."""
