"""Quizzes: attempts (start, autosave, submit, time limit, review), the grader and the pages.

The quiz file format, its review policies, the content a synced quiz stores and the GIFT
converter are in `mooc.formats` (below courses, which syncs quizzes); `grading` scores
attempts against what was shown. The Quiz row itself is in `mooc.courses.models`: the
courses sync writes it.
"""
