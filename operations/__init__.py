"""What a user may do with the archive, checked and audited the same way from the CLI and over HTTP."""
