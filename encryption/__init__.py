"""Keys and the encrypted object format.

``keyring`` holds the Fernet keys (MultiFernet order: newest first); ``envelope``
turns a plaintext stream into the chunked, authenticated object stored in S3 and back.
"""
