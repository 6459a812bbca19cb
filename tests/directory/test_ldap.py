"""mooc/directory/ldap.py against a real OpenLDAP server (tests/directory/slapd.py): finding a
person, checking their password by binding as them, TLS that is really checked, and the
settings checked at start."""

from __future__ import annotations

import pytest

from mooc import create_app, doctor
from mooc.auth.backends import DirectoryRefused, DirectoryUnavailable
from mooc.config import ConfigError, build_settings
from mooc.directory.ldap import LdapDirectory, refused_bind_reason
from tests.directory.slapd import DUNG, MAI, PEOPLE, PEOPLE_DN, SERVICE_DN, SERVICE_PASSWORD, make_certificate


def directory(slapd, tls="starttls", **more) -> LdapDirectory:
    config = build_settings({"ENV": "testing", **slapd.settings(tls, **more)}).ldap
    assert config is not None
    return LdapDirectory(config)


@pytest.mark.parametrize("tls", ["starttls", "ldaps"])
def test_finds_the_person_by_user_name_or_email_and_checks_the_password(slapd, tls):
    ldap = directory(slapd, tls)
    for typed in ("mai.tran", "MAI.TRAN", "mai.tran@thanhtra.gov.vn", " Mai.Tran@thanhtra.gov.vn "):
        entry = ldap.verify(typed, MAI.password)  # a password with Vietnamese letters
        assert (entry.dn, entry.staff_code, entry.email) == (MAI.dn, "00123", "Mai.Tran@thanhtra.gov.vn")


def test_wrong_password_unknown_user_and_empty_password_are_refused(slapd):
    ldap = directory(slapd)
    cases = [("mai.tran", "wrong password", "directory_wrong_password"),
             ("mai.tran", DUNG.password, "directory_wrong_password"),  # someone else's
             ("mai.tran", "", "directory_wrong_password"),  # an unauthenticated bind "succeeds"
             ("khong.co.ai", MAI.password, "directory_unknown_user"),
             ("", MAI.password, "directory_unknown_user")]
    for typed, password, reason in cases:
        with pytest.raises(DirectoryRefused) as refused:
            ldap.verify(typed, password)
        assert refused.value.reason == reason, (typed, password)
        assert refused.value.counts


@pytest.mark.parametrize("typed", ["*", "mai*", "mai.tran)(uid=*", "*)(|(uid=*", "\\2a", "mai.tran\x00"])
def test_what_is_typed_is_a_value_never_a_filter(slapd, typed):
    with pytest.raises(DirectoryRefused) as refused:
        directory(slapd).verify(typed, MAI.password)
    assert refused.value.reason == "directory_unknown_user"


def test_the_user_filter_narrows_who_may_sign_in(slapd):
    ldap = directory(slapd, LDAP_USER_FILTER="(employeeNumber=00999)")
    assert ldap.verify("dung.nguyen", DUNG.password).staff_code == "00999"
    with pytest.raises(DirectoryRefused):
        ldap.verify("mai.tran", MAI.password)


def test_a_service_account_refused_or_a_server_down_is_unavailable_not_a_wrong_password(slapd):
    with pytest.raises(DirectoryUnavailable, match="refused the service account"):
        directory(slapd, LDAP_BIND_PASSWORD="not-the-service-password").verify("mai.tran", MAI.password)
    from tests.directory.slapd import free_port

    with pytest.raises(DirectoryUnavailable, match="cannot be reached"):
        directory(slapd, LDAP_URL=f"ldap://127.0.0.1:{free_port()}").verify("mai.tran", MAI.password)


@pytest.mark.parametrize("tls", ["starttls", "ldaps"])
def test_a_certificate_from_an_untrusted_ca_is_refused(slapd, tmp_path, tls):
    _, stranger = make_certificate(tmp_path, "stranger", dns="localhost", ip="127.0.0.1")
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        directory(slapd, tls, LDAP_CA_FILE=str(stranger)).verify("mai.tran", MAI.password)


def test_a_certificate_for_another_host_is_refused(slapd):
    # The same server and trusted certificate, reached at an address the certificate does not name.
    with pytest.raises(DirectoryUnavailable, match="match|mismatch"):
        directory(slapd, LDAP_URL=slapd.misnamed_url).verify("mai.tran", MAI.password)


def test_the_system_cas_do_not_trust_a_self_signed_directory(slapd):
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        directory(slapd, LDAP_CA_FILE="").verify("mai.tran", MAI.password)


def test_plain_ldap_only_when_allowed_and_never_in_production(slapd, tmp_path):
    plain = slapd.settings("none")
    with pytest.raises(ConfigError, match="in clear"):
        build_settings({"ENV": "testing", **plain})
    with pytest.raises(ConfigError, match="in clear"):
        build_settings({"ENV": "production", "SECRET_KEY": "k" * 40, "MAIL_BACKEND": "smtp",
                        "LDAP_ALLOW_PLAIN": True, **plain})
    ldap = directory(slapd, "none", LDAP_ALLOW_PLAIN=True)
    assert ldap.verify("mai.tran", MAI.password).staff_code == "00123"


def test_the_bind_password_may_come_from_a_file(slapd, tmp_path):
    secret = tmp_path / "ldap-password"
    secret.write_text(SERVICE_PASSWORD + "\n", encoding="utf-8")
    ldap = directory(slapd, LDAP_BIND_PASSWORD="", LDAP_BIND_PASSWORD_FILE=str(secret))
    assert ldap.verify("dung.nguyen", DUNG.password).dn == DUNG.dn


def test_probe_counts_the_people_the_service_account_sees(slapd):
    assert directory(slapd).probe() == len(PEOPLE)


BASE = {"LDAP_URL": "ldaps://dc1.thanhtra.gov.vn", "LDAP_BIND_DN": SERVICE_DN,
        "LDAP_BIND_PASSWORD": "bi-mat-9137", "LDAP_BASE_DN": PEOPLE_DN}


@pytest.mark.parametrize("change, says", [
    ({"LDAP_URL": "https://dc1.thanhtra.gov.vn"}, "MOOC_LDAP_URL must look like"),
    ({"LDAP_URL": "ldap://dc1.thanhtra.gov.vn:99999"}, "MOOC_LDAP_URL must look like"),
    ({"LDAP_TLS": "starttls"}, "does not go with ldaps://"),
    ({"LDAP_URL": "ldap://dc1", "LDAP_TLS": "ldaps"}, "does not go with ldap://"),
    ({"LDAP_TLS": "sometimes"}, "MOOC_LDAP_TLS must be"),
    ({"LDAP_BASE_DN": ""}, "MOOC_LDAP_BASE_DN"),
    ({"LDAP_BIND_PASSWORD": ""}, "needs its password"),
    ({"LDAP_BIND_PASSWORD_FILE": "/nonexistent/file"}, "not both"),
    ({"LDAP_BIND_PASSWORD": "", "LDAP_BIND_PASSWORD_FILE": "/nonexistent/file"}, "cannot be read"),
    ({"LDAP_CA_FILE": "/nonexistent/ca.pem"}, "is not a file"),
    ({"LDAP_USER_ATTRIBUTE": "uid)(x=*"}, "MOOC_LDAP_USER_ATTRIBUTE must be an attribute"),
    ({"LDAP_MATCH_BY": "uid"}, "MOOC_LDAP_MATCH_BY"),
    ({"LDAP_USER_FILTER": "objectClass=person"}, "MOOC_LDAP_USER_FILTER"),
    ({"LDAP_USER_FILTER": "(a=b))(|(c=d)"}, "MOOC_LDAP_USER_FILTER"),
    ({"LDAP_TIMEOUT_SECONDS": 0}, "MOOC_LDAP_TIMEOUT_SECONDS"),
])
def test_settings_are_checked_at_start(change, says):
    with pytest.raises(ConfigError, match=says):
        build_settings({"ENV": "testing", **BASE, **change})


def test_settings_defaults_and_an_active_directory_example():
    assert build_settings({"ENV": "testing"}).ldap is None
    config = build_settings({"ENV": "testing", **BASE, "LDAP_USER_ATTRIBUTE": "sAMAccountName",
                             "LDAP_STAFF_CODE_ATTRIBUTE": "employeeID", "LDAP_MATCH_BY": "EMAIL",
                             "LDAP_USER_FILTER": "(&(objectCategory=person)(objectClass=user)"
                                                 "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"}).ldap
    assert config is not None
    assert (config.host, config.port, config.tls, config.match_by) == ("dc1.thanhtra.gov.vn", 636, "ldaps",
                                                                       "email")
    assert "bi-mat-9137" not in repr(config)  # the password is not in its repr
    starttls = build_settings({"ENV": "testing", **BASE, "LDAP_URL": "ldap://dc1:3389"}).ldap
    assert starttls is not None and (starttls.port, starttls.tls) == (3389, "starttls")


@pytest.mark.parametrize("roles, says", [("admin,boss", "unknown roles"),
                                         ("trainee,reporter", "must include admin")])
def test_local_password_roles_are_checked_at_start(database_url, tmp_path, roles, says):
    with pytest.raises(ConfigError, match=says):
        create_app({"ENV": "testing", "DATABASE_URL": database_url, "INSTANCE_DIR": str(tmp_path),
                    "LOCAL_PASSWORD_ROLES": roles})


def test_active_directory_tells_why_a_bind_was_refused():
    def ad(code: str) -> dict:
        return {"message": f"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, "
                           f"data {code}, v4563\x00"}

    assert refused_bind_reason(ad("775")) == "directory_account_locked"
    assert refused_bind_reason(ad("532")) == "directory_password_expired"
    assert refused_bind_reason(ad("533")) == "directory_account_disabled"
    assert refused_bind_reason(ad("52e")) == "directory_wrong_password"
    assert refused_bind_reason({"message": ""}) == "directory_wrong_password"  # OpenLDAP says nothing
    assert refused_bind_reason(None) == "directory_wrong_password"


def test_doctor_checks_the_directory(make_app, slapd):
    assert doctor.check_directory(make_app()) == []
    [found] = doctor.check_directory(make_app(**slapd.settings("ldaps")))
    assert found.status == doctor.OK and f"finds {len(PEOPLE)} people" in found.message
    [found] = doctor.check_directory(make_app(**slapd.settings(LDAP_BIND_PASSWORD="wrong")))
    assert found.status == doctor.ERROR and "refused the service account" in found.message
    missing = "ou=khong-co,dc=thanhtra,dc=gov,dc=vn"
    [found] = doctor.check_directory(make_app(**slapd.settings(LDAP_BASE_DN=missing)))
    assert found.status == doctor.ERROR and "noSuchObject" in found.message
    [found] = doctor.check_directory(make_app(**slapd.settings(LDAP_USER_FILTER="(employeeNumber=x)")))
    assert found.status == doctor.WARNING and "finds nobody" in found.message
