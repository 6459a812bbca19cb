"""OpenID Connect sign-in as a relying party: the authorisation code flow with PKCE (S256).

begin() stores a single-use round trip (state, nonce, code verifier) and returns the
provider's address; claim_login() takes that round trip back, once, for the browser that
started it; finish() exchanges the code (with the verifier) at the token endpoint and verifies
the ID token: signature against the provider's published keys (JWKS), issuer, audience,
authorised party, expiry, nonce, access-token hash. The provider's metadata comes from its
discovery document (issuer + /.well-known/openid-configuration) and is kept an hour per
process; the keys are fetched again when a token names a key the kept set lacks (rotation).
Nothing here reads ``request``: the views pass the redirect URI and the callback's arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
import sqlalchemy as sa
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from mooc import clock
from mooc.auth.models import User
from mooc.caching import KeptCache, app_cache
from mooc.config import OidcSettings
from mooc.database import rowcount
from mooc.directory.matching import match_person, named
from mooc.directory.models import OidcLogin
from mooc.extensions import db
from mooc.i18n import gettext as _

ROUND_TRIP_MINUTES = 10  # a sign-in left at the provider's page longer than this starts again
METADATA_SECONDS = 3600  # discovery document and keys kept this long per process
HTTP_TIMEOUT = (5, 15)  # connect, read: a provider that does not answer fails the sign-in
LEEWAY_SECONDS = 60  # clocks of the provider and this server may differ this much

T = TypeVar("T")

# Why a sign-in came back refused (the audit trail's reason).
REASONS = ("state", "provider", "token", "signature", "issuer", "audience", "nonce", "expired", "claims")


class OidcRefused(Exception):
    """The provider's answer is not accepted; ``reason`` (one of REASONS) goes to the audit trail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail[:200]

    def message(self) -> str:
        if self.reason == "state":
            return _("This sign-in link has expired or was already used. Start again from the "
                     "sign-in page.")
        if self.reason in ("provider", "token"):
            return _("The sign-in service did not let you in, or could not be reached. Try again; "
                     "if it keeps failing, tell the administrator.")
        return _("The answer of the sign-in service could not be verified, so you were not signed "
                 "in. Try again; if it keeps failing, tell the administrator.")


@dataclass(frozen=True)
class Verified:
    """What a verified ID token says, and the token itself (the hint for signing out there)."""

    claims: dict[str, Any]
    id_token: str


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class _Kept(KeptCache):
    """The provider's discovery document and keys, per process (one per issuer), for an hour."""

    def fresh(self, key: tuple[str, str], fetch: Callable[[], T], *, refresh: bool = False) -> T:
        kept = self.peek(key)
        if isinstance(kept, tuple) and not refresh and time.monotonic() - kept[0] < METADATA_SECONDS:
            return kept[1]
        value = fetch()
        self.put(key, (time.monotonic(), value))
        return value


def _kept() -> _Kept:
    return app_cache("mooc_oidc_provider", _Kept)


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as error:
        raise OidcRefused("provider", f"{url}: {error}") from None
    if not isinstance(data, dict):
        raise OidcRefused("provider", f"{url}: not a JSON object")
    return data


def provider_metadata(config: OidcSettings, *, refresh: bool = False) -> dict[str, Any]:
    """The provider's discovery document, checked: it speaks for the configured issuer."""

    def fetch() -> dict[str, Any]:
        metadata = _get_json(f"{config.issuer}/.well-known/openid-configuration")
        if metadata.get("issuer", "").rstrip("/") != config.issuer:
            raise OidcRefused("issuer", f"discovery names issuer {metadata.get('issuer')!r}")
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(metadata.get(endpoint), str):
                raise OidcRefused("provider", f"discovery has no {endpoint}")
        return metadata

    return _kept().fresh(("metadata", config.issuer), fetch, refresh=refresh)


def _key_set(config: OidcSettings, metadata: Mapping[str, Any], *, refresh: bool = False) -> KeySet:
    def fetch() -> KeySet:
        try:
            return KeySet.import_key_set(_get_json(metadata["jwks_uri"]))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise OidcRefused("provider", f"keys: {error}") from None

    return _kept().fresh(("jwks", config.issuer), fetch, refresh=refresh)


def _client(config: OidcSettings, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(config.client_id, config.client_secret, scope=" ".join(config.scopes),
                         redirect_uri=redirect_uri, code_challenge_method="S256")


def begin(config: OidcSettings, *, redirect_uri: str, next_url: str) -> tuple[str, str]:
    """Start a sign-in: (the provider's authorisation URL, the state the browser must keep).

    The round trip is stored (flushed in this request's transaction); round trips older than
    ROUND_TRIP_MINUTES are dropped on the way."""
    metadata = provider_metadata(config)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 asks for 43 to 128
    now = clock.now()
    db.session.execute(sa.delete(OidcLogin).where(
        OidcLogin.created_at < now - timedelta(minutes=ROUND_TRIP_MINUTES)))
    db.session.add(OidcLogin(state_hash=_state_hash(state), nonce=nonce, code_verifier=verifier,
                             next_url=next_url[:500], created_at=now))
    with _client(config, redirect_uri) as client:
        url, _state = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier)
    return url, state


@dataclass(frozen=True)
class RoundTrip:
    nonce: str
    code_verifier: str
    next_url: str


def claim_login(kept_state: str | None, returned_state: str | None) -> RoundTrip:
    """Take back the round trip of ``returned_state``, which must be the one this browser
    started (``kept_state``, from its session). The stored round trip is deleted here, so the
    same state is never accepted twice, whatever happens next; raises OidcRefused("state")."""
    if not kept_state or not returned_state or not hmac.compare_digest(kept_state, returned_state):
        raise OidcRefused("state", "not the state this browser was sent with")
    key = _state_hash(returned_state)
    login = db.session.get(OidcLogin, key)
    if login is None:
        raise OidcRefused("state", "unknown or already used")
    trip = RoundTrip(login.nonce, login.code_verifier, login.next_url)
    created = login.created_at
    if rowcount(db.session.execute(sa.delete(OidcLogin).where(OidcLogin.state_hash == key))) != 1:
        raise OidcRefused("state", "used by a parallel request")
    if clock.now() - created > timedelta(minutes=ROUND_TRIP_MINUTES):
        raise OidcRefused("state", "expired")
    return trip


def finish(config: OidcSettings, trip: RoundTrip, args: Mapping[str, str], *,
           redirect_uri: str) -> Verified:
    """The provider's answer (the callback's query ``args``) turned into verified claims."""
    metadata = provider_metadata(config)
    if args.get("error"):
        raise OidcRefused("provider", f"{args.get('error')}: {args.get('error_description', '')}")
    if "iss" in args and args["iss"].rstrip("/") != config.issuer:  # RFC 9207: mix-up attacks
        raise OidcRefused("issuer", f"the answer names issuer {args['iss']!r}")
    if not args.get("code"):
        raise OidcRefused("provider", "no code in the answer")
    try:
        with _client(config, redirect_uri) as client:
            token = client.fetch_token(metadata["token_endpoint"], grant_type="authorization_code",
                                       code=args["code"], code_verifier=trip.code_verifier,
                                       timeout=HTTP_TIMEOUT)
    except (OAuthError, requests.RequestException, ValueError) as error:
        raise OidcRefused("token", str(error)) from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcRefused("token", "no ID token in the token response")
    claims = verify_id_token(config, metadata, id_token, nonce=trip.nonce,
                             access_token=token.get("access_token"))
    return Verified(with_userinfo(config, metadata, claims, token.get("access_token")), id_token)


def _matching_claim(config: OidcSettings) -> str:
    return config.staff_code_claim if config.match_by == "staff_code" else config.email_claim


def with_userinfo(config: OidcSettings, metadata: Mapping[str, Any], claims: dict[str, Any],
                  access_token: str | None) -> dict[str, Any]:
    """The ID token's claims, completed from the provider's UserInfo endpoint when they lack the
    one the roster is matched by. A provider that follows OpenID Connect Core to the letter
    (oidc-provider's default, among others) puts the claims of the scopes asked for (``email``,
    a staff code) in UserInfo only, not in the ID token of the code flow. UserInfo's ``sub``
    must be the ID token's (Core 5.3.2); the ID token's own claims win over it."""
    if claims.get(_matching_claim(config)) is not None:
        return claims
    endpoint = metadata.get("userinfo_endpoint")
    if not endpoint or not access_token:
        return claims  # nothing to ask: the match says the claim is missing
    try:
        response = requests.get(endpoint, timeout=HTTP_TIMEOUT, headers={
            "Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        response.raise_for_status()
        info = response.json()
    except (requests.RequestException, ValueError) as error:
        raise OidcRefused("provider", f"UserInfo: {error}") from None
    if not isinstance(info, dict):
        raise OidcRefused("claims", "UserInfo: not a JSON object (a signed answer is not read)")
    if info.get("sub") != claims.get("sub"):
        raise OidcRefused("claims", "UserInfo speaks of another subject than the ID token")
    return {**info, **claims}


_CLAIM_REASONS = {"iss": "issuer", "aud": "audience", "azp": "audience", "nonce": "nonce",
                  "exp": "expired", "iat": "expired", "nbf": "expired"}


def verify_id_token(config: OidcSettings, metadata: Mapping[str, Any], id_token: str, *,
                    nonce: str, access_token: str | None) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, expiry and nonce hold."""
    algorithms = [alg for alg in metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
                  if alg != "none" and not alg.startswith("HS")]  # only the provider's own keys sign
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        try:
            token = jwt.decode(id_token, _key_set(config, metadata), registry=registry)
        except InvalidKeyIdError:  # keys rotated since they were fetched
            token = jwt.decode(id_token, _key_set(config, metadata, refresh=True), registry=registry)
    except OidcRefused:
        raise
    except (JoseError, ValueError) as error:
        raise OidcRefused("signature", f"{type(error).__name__}: {error}") from None
    params = {"nonce": nonce, "client_id": config.client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(token.claims, token.header,
                         {"iss": {"essential": True, "values": [metadata["issuer"]]}}, params)
    try:
        claims.validate(now=int(clock.now().timestamp()), leeway=LEEWAY_SECONDS)
    except ExpiredTokenError as error:
        raise OidcRefused("expired", str(error)) from None
    except ClaimError as error:
        raise OidcRefused(_CLAIM_REASONS.get(error.claim, "claims"), str(error)) from None
    except JoseError as error:
        raise OidcRefused("claims", str(error)) from None
    return dict(claims)


def _claimed(config: OidcSettings, claims: Mapping[str, Any]) -> dict[str, str | None]:
    """The staff code and e-mail the claims assert, as matching reads them."""
    staff_code = claims.get(config.staff_code_claim)
    email = claims.get(config.email_claim)
    return {"staff_code": str(staff_code) if staff_code is not None else None,
            "email": str(email) if isinstance(email, str) else None}


def person_for(config: OidcSettings, claims: Mapping[str, Any]) -> User:
    """The roster's account for these claims (matching.match_person; raises NoMatch)."""
    return match_person(by=config.match_by, **_claimed(config, claims))


def named_person(config: OidcSettings, claims: Mapping[str, Any]) -> str:
    """Whom the claims name, as the roster is searched for them (the staff code or the e-mail of
    MOOC_OIDC_MATCH_BY, normalised): a refusal's audit event keeps it (``person``)."""
    return named(by=config.match_by, **_claimed(config, claims))


def asserts_mfa(config: OidcSettings, claims: Mapping[str, Any]) -> bool:
    """Whether the provider says the person proved a second factor (``amr``, RFC 8176)."""
    amr = claims.get("amr")
    if isinstance(amr, str):
        amr = [amr]
    return isinstance(amr, list) and bool(config.mfa_amr & {str(value) for value in amr})


def end_session_url(config: OidcSettings, *, id_token: str, after: str) -> str | None:
    """Where to send the browser after our own sign-out so the provider signs the person out
    too (RP-initiated logout), or None when the provider offers no end_session_endpoint."""
    try:
        endpoint = provider_metadata(config).get("end_session_endpoint")
    except OidcRefused:
        return None
    if not isinstance(endpoint, str) or not endpoint:
        return None
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": after,
                       "client_id": config.client_id})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
