"""The read API (/api/v1/): units, people, enrolments, certificates and the dashboard as JSON,
for HR and BI tools, with the same scope as the web pages, behind personal or service tokens."""
