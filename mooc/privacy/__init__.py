"""Personal-data rights (Law 91/2025/QH15, Decree 356/2025/NĐ-CP): a person's own data, the
audit log, retention (pseudonymisation of people who left), corrections, the privacy notice.
The top domain layer: an export gathers from every domain below."""
