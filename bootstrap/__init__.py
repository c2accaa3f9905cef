"""Making a home: the first floor above the domain packages that puts them together from nothing.

``init`` and a whole restore create a home's configuration, S3 credentials, keyring, default
backup target and catalog here; the packages below only read and use what it made (``config``
locates the home and reads its settings).
"""
