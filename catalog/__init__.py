"""The catalog: what records and versions exist, where their objects are, and their state."""
