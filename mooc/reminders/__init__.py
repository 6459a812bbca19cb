"""Reminders: e-mails to trainees before and after their deadlines, weekly digests to unit managers."""
