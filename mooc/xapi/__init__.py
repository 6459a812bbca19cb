"""Training events as xAPI statements, sent to a learning-records store (LRS).

Nothing happens in a trainee's request: `mooc xapi send` (cron) collects the facts the
database already holds (lessons done, quiz attempts, completions, certificates) into an
outbox, then sends what is pending in batches, retrying with back-off. A statement's id is
derived from the fact it states, so a resend is a no-op at the store."""
