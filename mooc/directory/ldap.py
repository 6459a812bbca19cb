"""Sign-in against the ministry's directory: OpenLDAP or Active Directory, through ldap3.

The service account (MOOC_LDAP_BIND_DN) finds the one person whose user name attribute
(uid, sAMAccountName) or e-mail is what they typed; binding as that person's DN with the
password they typed checks it (the directory's own rules apply: expiry, lock-out, disabled
accounts). The roster then decides whether they may come in (matching.match_person): the
directory vouches for who someone is, never for whether they are staff.

Every connection is encrypted (LDAPS or StartTLS; plain only when the settings allow it for a
test directory), the server's certificate is checked against MOOC_LDAP_CA_FILE (or the system's
CAs) and its host name, referrals are never followed, and each step has a timeout.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any, cast

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from mooc.auth.backends import Directory, DirectoryRefused, DirectoryUnavailable, Found
from mooc.auth.models import Role, User
from mooc.config import LdapSettings
from mooc.directory.matching import NoMatch, account_named, match_person, named

log = logging.getLogger(__name__)

METHOD = "ldap"  # login.succeeded's method in the audit trail


@dataclass(frozen=True)
class DirectoryEntry:
    """What the directory says about the person who typed the right password."""

    dn: str
    staff_code: str | None
    email: str | None


class CheckedTls(ldap3.Tls):
    """ldap3's TLS with the certificate *and host name* checked by Python's ssl module.

    ldap3 2.9.1 turns the SSL context's host name check off and calls ssl.match_hostname()
    itself, which Python deprecated in 3.7 and removed in 3.12; a default context with
    server_hostname checks both during the handshake, with TLS 1.2 at least."""

    def __init__(self, ca_file: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
        self.context = ssl.create_default_context(cafile=ca_file)

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        connection.socket = self.context.wrap_socket(
            connection.socket, server_side=False, do_handshake_on_connect=do_handshake,
            server_hostname=connection.server.host)


class LdapDirectory:
    """One configured directory; `find` then `check` are the sign-in page's (auth.backends)."""

    def __init__(self, config: LdapSettings) -> None:
        self.config = config
        ca_file = str(config.ca_file) if config.ca_file else None
        self.tls = None if config.tls == "none" else CheckedTls(ca_file)

    def find(self, login: str) -> Found:
        """Whom `login` (a user name or e-mail) names in the directory, and the roster account of
        that person if there is one (its lock is the one that counts); no password is tried.
        DirectoryRefused (unknown, ambiguous) or DirectoryUnavailable."""
        entry = self._entry(login)
        return Found(entry, account_named(by=self.config.match_by, staff_code=entry.staff_code,
                                          email=entry.email))

    def check(self, found: Found, password: str) -> User:
        """The roster's account of the directory person `found` if `password` is theirs;
        DirectoryRefused (reason for the audit trail) or DirectoryUnavailable."""
        entry = cast(DirectoryEntry, found.entry)  # what find() gave
        self._bind(entry, password)
        try:
            return match_person(by=self.config.match_by, staff_code=entry.staff_code, email=entry.email)
        except NoMatch as refused:
            # The password was right: the person reads why they cannot come in, and nothing counts.
            # The audit trail keeps whom the directory named, as the roster was searched for them:
            # the user name typed is that person's (mooc.privacy.names).
            person = named(by=self.config.match_by, staff_code=entry.staff_code, email=entry.email)
            raise DirectoryRefused(f"roster_{refused.reason}", refused.message(), counts=False,
                                   person=person or None) from None

    def verify(self, login: str, password: str) -> DirectoryEntry:
        """The directory's entry for `login` if `password` is its password."""
        entry = self._entry(login)
        self._bind(entry, password)
        return entry

    def _entry(self, login: str) -> DirectoryEntry:
        login = (login or "").strip()
        if not login or len(login) > 254:
            raise DirectoryRefused("directory_unknown_user")
        config = self.config
        with self._connection(config.bind_dn, config.bind_password, "the service account") as service:
            return self._find(service, login)

    def _bind(self, entry: DirectoryEntry, password: str) -> None:
        if not password:
            # An empty password would be an unauthenticated bind, which "succeeds" (RFC 4513 5.1.2).
            raise DirectoryRefused("directory_wrong_password")
        with self._connection(entry.dn, password, None) as person:
            if not person.bound:
                raise DirectoryRefused(refused_bind_reason(person.result))

    def probe(self) -> int:
        """Connect, bind as the service account and search the base (`mooc doctor`): how many
        people (at most 1000) the user filter finds there. Raises DirectoryUnavailable."""
        config = self.config
        with self._connection(config.bind_dn, config.bind_password, "the service account") as service:
            self._search(service, config.user_filter, size_limit=1000)
            return sum(1 for item in service.response or () if item.get("type") == "searchResEntry")

    def _find(self, service: Any, login: str) -> DirectoryEntry:
        config = self.config
        value = escape_filter_chars(login)
        wanted = (f"(&{config.user_filter}(|({config.user_attribute}={value})"
                  f"({config.email_attribute}={value})))")
        self._search(service, wanted, size_limit=2)
        entries = [item for item in service.response or () if item.get("type") == "searchResEntry"]
        if not entries:
            raise DirectoryRefused("directory_unknown_user")
        if len(entries) > 1:
            log.warning("LDAP: %d entries answer to one user name under %s; nobody is let in with it",
                        len(entries), config.base_dn)
            raise DirectoryRefused("directory_ambiguous")
        attributes = entries[0].get("attributes") or {}
        return DirectoryEntry(dn=entries[0]["dn"],
                              staff_code=_first(attributes.get(config.staff_code_attribute)),
                              email=_first(attributes.get(config.email_attribute)))

    def _search(self, service: Any, search_filter: str, size_limit: int) -> None:
        config = self.config
        try:
            service.search(config.base_dn, search_filter, search_scope=ldap3.SUBTREE,
                           attributes=[config.staff_code_attribute, config.email_attribute],
                           size_limit=size_limit, time_limit=config.timeout_seconds)
        except LDAPException as error:
            raise _unavailable(f"the search under {config.base_dn} failed: {error}") from None
        result = service.result or {}
        if result.get("result") not in (0, 4):  # success, or sizeLimitExceeded (more than asked)
            raise _unavailable(f"the search under {config.base_dn} was refused: "
                               f"{result.get('description')} {result.get('message') or ''}".strip())

    def _connection(self, dn: str, password: str, who: str | None) -> _Bound:
        """A connection bound as `dn`, closed when the `with` block ends. `who` names a bind
        that must succeed (the service account): its refusal means the directory is unusable."""
        return _Bound(self, dn, password, who)

    def server(self) -> Any:
        config = self.config
        return ldap3.Server(config.host, port=config.port, use_ssl=config.tls == "ldaps", tls=self.tls,
                            get_info=ldap3.NONE, connect_timeout=config.timeout_seconds)


class _Bound:
    """Open, secure (StartTLS), bind; always unbind at the end, whatever happened."""

    def __init__(self, directory: LdapDirectory, dn: str, password: str, who: str | None) -> None:
        self.directory, self.dn, self.password, self.who = directory, dn, password, who
        self.connection: Any = None

    def __enter__(self) -> Any:
        config = self.directory.config
        self.connection = ldap3.Connection(
            self.directory.server(), user=self.dn, password=self.password,
            authentication=ldap3.SIMPLE, client_strategy=ldap3.SYNC, read_only=True,
            auto_referrals=False, raise_exceptions=False, receive_timeout=config.timeout_seconds)
        try:
            self.connection.open(read_server_info=False)
            if config.tls == "starttls":
                self.connection.start_tls(read_server_info=False)
            self.connection.bind(read_server_info=False)
        except (LDAPException, OSError) as error:
            self.__exit__()
            raise _unavailable(f"{config.url} ({config.tls}) cannot be reached: {error}") from None
        if self.who and not self.connection.bound:
            result = self.connection.result or {}
            self.__exit__()
            raise _unavailable(f"{config.url} refused {self.who} ({config.bind_dn}): "
                               f"{result.get('description')}")
        return self.connection

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(LDAPException, OSError):  # the socket may already be gone
            self.connection.unbind()
        # ldap3 leaves the socket of a refused connection (or a failed StartTLS) open.
        sock = getattr(self.connection, "socket", None)
        if sock is not None:
            sock.close()


# Active Directory says why a bind was refused in its message: "... data 775, ..." (the
# sub-codes of error 49 in Microsoft's documentation). For the audit trail only: the person
# reads "wrong user name or password" whatever it is.
AD_BIND_REASONS = {
    "525": "directory_unknown_user", "52e": "directory_wrong_password",
    "530": "directory_not_permitted_now", "531": "directory_not_permitted_here",
    "532": "directory_password_expired", "533": "directory_account_disabled",
    "701": "directory_account_expired", "773": "directory_must_change_password",
    "775": "directory_account_locked",
}


def refused_bind_reason(result: dict[str, Any] | None) -> str:
    """Why the directory refused a person's bind, for the audit trail."""
    message = str((result or {}).get("message") or "").lower()
    for code, reason in AD_BIND_REASONS.items():
        if f"data {code}," in message or message.endswith(f"data {code}"):
            return reason
    return "directory_wrong_password"


def _unavailable(why: str) -> DirectoryUnavailable:
    log.warning("LDAP sign-in is unavailable: %s", why)
    return DirectoryUnavailable(why)


def _first(values: Any) -> str | None:
    """An attribute's first value as text (ldap3 gives a list, or a single value)."""
    if isinstance(values, list | tuple):
        values = values[0] if values else None
    if isinstance(values, bytes):
        values = values.decode("utf-8", "replace")
    return str(values) if values not in (None, "") else None


def directory(config: LdapSettings, local_roles: frozenset[Role] | None) -> Directory:
    """The sign-in page's directory (create_app installs it with auth.backends.install)."""
    ldap = LdapDirectory(config)
    return Directory(method=METHOD, find=ldap.find, check=ldap.check, local_roles=local_roles,
                     probe=ldap.probe, match_by=config.match_by)
