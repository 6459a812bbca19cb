"""Sign-in through the ministry's directory (LDAP / Active Directory) or an OpenID provider.

The directory proves who a person is; the roster says whether they may come in. A directory
account is matched to a roster entry (matching.py) and never creates one."""
