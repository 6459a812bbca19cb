"""Courses as authors write them: the Markdown format, check, sync, and the pages that show them."""
