"""User accounts: argon2id passwords, bearer tokens kept as hashes, lockout after failed logins."""
