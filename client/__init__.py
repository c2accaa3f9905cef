"""What the user-facing CLI commands talk to: the HTTP service, or the home directory in-process."""
