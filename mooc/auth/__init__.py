"""Accounts, roles and scopes, sign-in and sessions."""
