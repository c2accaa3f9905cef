"""Access control: the Casbin model and policy, per-record grants, access requests."""
