"""Quizzes: the quiz file format, the grader and the Moodle GIFT importer.

`format` reads `*.quiz.md` files into plain data, `grading` scores attempts against what
was shown, `gift` converts Moodle question banks. All three are pure: no database, no
request, no Markdown rendering (the caller renders and sanitises).
"""
