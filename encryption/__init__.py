"""Keys, the encrypted object format, and the files that hold secrets.

``keyring`` holds the Fernet keys (MultiFernet order: newest first); ``envelope``
turns a plaintext stream into the chunked, authenticated object stored in S3 and back;
``private_files`` writes and checks the mode-0600 files secrets live in (the keyring, S3
credentials, saved tokens, backup target credentials).
"""
