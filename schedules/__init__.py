"""The organisation's calendar rules, pure (no I/O, no clock): the grammar and arithmetic of schedules.

``retention``: retention schedules (``TYPE = PERIOD from TRIGGER``), periods and retention dates;
``paperwork``: recurring meetings, minutes and report deadlines, months, local times. On the ground
floor because the settings are checked against them when they are read (``config.settings``), and
filing applies retention dates (``archive.retention_dates``); ``retention`` and ``paperwork`` build on them.
"""
