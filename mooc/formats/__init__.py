"""The authors' file formats that courses and quizzes share, below both of them.

`quiz` reads `*.quiz.md` files into plain data and problems (file:line), `quiz_review`
holds the review policies a quiz file names, `quiz_content` turns a parsed quiz into what
the Quiz row stores (settings, question snapshots with rendered HTML), `gift` converts
Moodle question banks, `problem` is the one `Problem` of every check, and `source` how
every author's text file is decoded and its YAML read. All are pure:
they import only `mooc.text` and each other (no database, no request, no Markdown
rendering: the caller renders and sanitises). The courses check and sync call them, the
quizzes domain grades what they produce; `lint-imports` keeps them below both.
"""
