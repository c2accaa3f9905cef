"""The HTTP API (FastAPI): the service boundary for people who do not hold the home directory."""
