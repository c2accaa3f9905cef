"""Configuration: the home directory, its ``strongroom.toml`` and environment overrides."""

from config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
