"""Completion reports for unit managers and the ministry: screens, charts, exports."""
