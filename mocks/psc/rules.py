"""The Pro Santé Connect mock's rules: every refusal it answers, declared once.

Each rule carries the OAuth 2.0 / OpenID Connect error it is answered with (`oauth_error`) and its HTTP
status (`status`): RFC 6749 §5.2 (token endpoint), §4.1.2.1 (authorization endpoint), RFC 6750 §3.1
(bearer tokens: `invalid_token` with `WWW-Authenticate`), OpenID CIBA Core 1.0 §11 and §13, RFC 7009.
A rule with `redirect=False` is answered on the mock's own page, never to the client's redirect URI
(RFC 6749 §4.1.2.1: an unknown client or an unregistered redirect URI must not be redirected to).
"""

from __future__ import annotations

from segur.kernel.findings import Severity
from segur.kernel.rules import RuleBook

RFC6749 = "RFC 6749 (OAuth 2.0)"
RFC6750 = "RFC 6750 §3.1 (bearer token errors)"
RFC7636 = "RFC 7636 §4.6 (PKCE)"
CIBA = "OpenID Connect CIBA Core 1.0"
OIDC = "OpenID Connect Core 1.0"
PSC_DOC = "ANS, Pro Santé Connect documentation technique (industriels.esante.gouv.fr)"
#: REM: PSC.08 (acr_values=eidas1), PSC.01 (the four ways to use PSC), MSS/CONF.10 (a refresh token
#: made invalid by a PSC logout ends the mail sessions), PSC.10 (PSC tokens to call data providers' APIs).
REM_ACR = ("PSC.08", "SC.PSC.08")
REM_FLOW = ("PSC.01", "SC.PSC.01")
REM_REFRESH = ("MSS/CONF.10", "SC.MSS/CONF.10")
REM_TOKEN_USE = ("PSC.10", "SC.PSC.10")

book = RuleBook("psc", source=RFC6749, rem=REM_FLOW)
rule = book.rule

# -- the request itself ---------------------------------------------------------------------------------
MALFORMED_BODY = rule(
    "PSC-REQ-001", "The request body is not a valid application/x-www-form-urlencoded form: {reason}.",
    message_fr="Le corps de la requête n'est pas un formulaire application/x-www-form-urlencoded valide : "
               "{reason}.",
    hint="POST the parameters form-encoded (Content-Type: application/x-www-form-urlencoded, UTF-8).",
    source=f"{RFC6749} §3.2, §4.1.3", oauth_error="invalid_request", status=400)
OVERSIZE_BODY = rule(
    "PSC-REQ-002", "The request body is {size} bytes, over the {limit} bytes this endpoint reads.",
    message_fr="Le corps de la requête fait {size} octets, au-delà des {limit} octets lus ici.",
    hint="Send only the OAuth parameters; a token request is a few hundred bytes.",
    oauth_error="invalid_request", status=413)
REPEATED_PARAMETER = rule(
    "PSC-REQ-003", "Parameter {name!r} is sent more than once.",
    message_fr="Le paramètre {name!r} est envoyé plusieurs fois.",
    hint="Send each parameter once (RFC 6749 §3.1: parameters MUST NOT be included more than once).",
    source=f"{RFC6749} §3.1", oauth_error="invalid_request", status=400)
MISSING_PARAMETER = rule(
    "PSC-REQ-004", "The {operation} request has no {name!r} parameter.",
    message_fr="La requête {operation} n'a pas de paramètre {name!r}.",
    hint="Send {name} (see the endpoint's specification: {spec}).", oauth_error="invalid_request", status=400)

# -- client authentication ------------------------------------------------------------------------------
NO_CLIENT_AUTH = rule(
    "PSC-CLIENT-001", "The {operation} request does not authenticate the client.",
    message_fr="La requête {operation} n'authentifie pas le client.",
    hint="Send client_id:client_secret as HTTP Basic (Authorization: Basic …), or client_id and "
         "client_secret in the form (client_secret_post).",
    source=f"{RFC6749} §2.3.1; {PSC_DOC} (Basic Auth on introspection and CIBA)",
    oauth_error="invalid_client", status=401)
UNKNOWN_CLIENT = rule(
    "PSC-CLIENT-002", "Client {client_id!r} is not registered with this Pro Santé Connect.",
    message_fr="Le client {client_id!r} n'est pas enregistré auprès de ce Pro Santé Connect.",
    hint="Use a client of the mock's config ([psc] clients) or the default test client.",
    oauth_error="invalid_client", status=401, redirect=False)
WRONG_SECRET = rule(
    "PSC-CLIENT-003", "The secret given for client {client_id!r} is not its secret.",
    message_fr="Le secret donné pour le client {client_id!r} n'est pas le sien.",
    hint="Send the client secret registered for {client_id} ([psc] clients).",
    source=f"{RFC6749} §2.3.1, §5.2", oauth_error="invalid_client", status=401)

# -- authorization endpoint -----------------------------------------------------------------------------
UNREGISTERED_REDIRECT = rule(
    "PSC-AUTHZ-001", "redirect_uri {redirect_uri!r} is not registered for client {client_id!r}.",
    message_fr="La redirect_uri {redirect_uri!r} n'est pas enregistrée pour le client {client_id!r}.",
    hint="Send exactly one of the registered redirect URIs: {registered}.",
    source=f"{RFC6749} §3.1.2.3, §4.1.2.1", oauth_error="invalid_request", status=400, redirect=False)
UNSUPPORTED_RESPONSE_TYPE = rule(
    "PSC-AUTHZ-002", "response_type {response_type!r} is not the authorization code flow.",
    message_fr="response_type {response_type!r} n'est pas le flux code d'autorisation.",
    hint="Use response_type=code (the code flow PSC documents; or CIBA for a client without a browser).",
    source=f"{RFC6749} §4.1.1; {PSC_DOC}", oauth_error="unsupported_response_type", status=400)
NO_OPENID_SCOPE = rule(
    "PSC-AUTHZ-003", "scope {scope!r} does not include openid.",
    message_fr="Le scope {scope!r} ne contient pas openid.",
    hint='Ask scope="openid scope_all" (scope_all returns the identity and the practices at once).',
    source=f"{OIDC} §3.1.2.1; {PSC_DOC}", oauth_error="invalid_scope", status=400)
ACR_NOT_EIDAS1 = rule(
    "PSC-AUTHZ-004", "acr_values is {acr_values!r}: Pro Santé Connect clients must ask acr_values=eidas1.",
    message_fr="acr_values vaut {acr_values!r} : un client Pro Santé Connect doit demander eidas1.",
    hint="Add acr_values=eidas1 to the authorization (and CIBA) request.",
    source=f"{PSC_DOC}; REM PSC.08", rem=REM_ACR, severity=Severity.WARNING, oauth_error="invalid_request",
    status=400)
BAD_CODE_CHALLENGE = rule(
    "PSC-AUTHZ-005", "The PKCE code challenge is not usable: {reason}.",
    message_fr="Le défi PKCE n'est pas utilisable : {reason}.",
    hint="Send code_challenge=BASE64URL(SHA256(code_verifier)) with code_challenge_method=S256.",
    source=f"{RFC7636} §4.2-4.4", oauth_error="invalid_request", status=400)
UNKNOWN_PROFESSIONAL = rule(
    "PSC-AUTHZ-006", "No professional of the test world has the national id {idnps!r}.",
    message_fr="Aucun professionnel du monde de test n'a l'identifiant national {idnps!r}.",
    hint="Use the IDNPS (8 + RPPS) of a professional of the world: `segur world show`.",
    oauth_error="access_denied", status=400)
LOGIN_REFUSED = rule(
    "PSC-AUTHZ-007", "The professional refused the authentication (test login: {why}).",
    message_fr="Le professionnel a refusé l'authentification (connexion de test : {why}).",
    hint="This refusal was asked by the test (admin next-login with deny, or the login page's Refuse).",
    source=f"{RFC6749} §4.1.2.1", oauth_error="access_denied", status=400)

# -- token endpoint --------------------------------------------------------------------------------------
UNSUPPORTED_GRANT = rule(
    "PSC-TOKEN-001", "grant_type {grant_type!r} is not one this Pro Santé Connect serves.",
    message_fr="Le grant_type {grant_type!r} n'est pas servi par ce Pro Santé Connect.",
    hint="Use authorization_code, refresh_token or urn:openid:params:grant-type:ciba.",
    source=f"{RFC6749} §5.2", oauth_error="unsupported_grant_type", status=400)
UNKNOWN_CODE = rule(
    "PSC-TOKEN-002", "The authorization code is unknown or expired.",
    message_fr="Le code d'autorisation est inconnu ou expiré.",
    hint="Exchange the code at once (it lives {lifetime} s) and only the code the redirect gave.",
    source=f"{RFC6749} §4.1.3, §5.2", oauth_error="invalid_grant", status=400)
REPLAYED_CODE = rule(
    "PSC-TOKEN-003", "The authorization code was already exchanged; the tokens it gave are now revoked.",
    message_fr="Le code d'autorisation a déjà été échangé ; les jetons qu'il a donnés sont révoqués.",
    hint="Exchange each code once; a retry must start a new authorization.",
    source=f"{RFC6749} §4.1.2, §10.5", oauth_error="invalid_grant", status=400)
CODE_OF_ANOTHER_CLIENT = rule(
    "PSC-TOKEN-004", "The authorization code was issued to client {issued_to!r}, not {client_id!r}.",
    message_fr="Le code d'autorisation a été délivré au client {issued_to!r}, pas à {client_id!r}.",
    hint="Exchange the code with the credentials of the client that asked for it.",
    source=f"{RFC6749} §4.1.3", oauth_error="invalid_grant", status=400)
REDIRECT_MISMATCH = rule(
    "PSC-TOKEN-005", "redirect_uri {redirect_uri!r} differs from the authorization request's {expected!r}.",
    message_fr="La redirect_uri {redirect_uri!r} diffère de celle de la demande d'autorisation {expected!r}.",
    hint="Send the same redirect_uri on the token request as on the authorization request.",
    source=f"{RFC6749} §4.1.3", oauth_error="invalid_grant", status=400)
PKCE_MISMATCH = rule(
    "PSC-TOKEN-006", "The PKCE code_verifier does not match the code challenge: {reason}.",
    message_fr="Le code_verifier PKCE ne correspond pas au défi : {reason}.",
    hint="Send the code_verifier whose S256 hash was the code_challenge of this authorization.",
    source=RFC7636, oauth_error="invalid_grant", status=400)
BAD_REFRESH_TOKEN = rule(
    "PSC-TOKEN-007", "The refresh token is {why}.",
    message_fr="Le jeton de rafraîchissement est {why}.",
    hint="Start a new authentication: a refresh token dies with its PSC session (logout, maximum "
         "lifetime) and the mail sessions must end with it (REM MSS/CONF.10).",
    source=f"{RFC6749} §6; REM MSS/CONF.10", rem=REM_REFRESH, oauth_error="invalid_grant", status=400)
REFRESH_OF_ANOTHER_CLIENT = rule(
    "PSC-TOKEN-008", "The refresh token was issued to client {issued_to!r}, not {client_id!r}.",
    message_fr="Le jeton de rafraîchissement a été délivré au client {issued_to!r}, pas à {client_id!r}.",
    hint="Refresh with the credentials of the client the token was issued to.",
    source=f"{RFC6749} §6", oauth_error="invalid_grant", status=400)

# -- CIBA ------------------------------------------------------------------------------------------------
CIBA_UNKNOWN_USER = rule(
    "PSC-CIBA-001", "login_hint {login_hint!r} names no professional of the test world.",
    message_fr="Le login_hint {login_hint!r} ne désigne aucun professionnel du monde de test.",
    hint="Send the professional's national id (IDNPS, 8 + RPPS) as login_hint.",
    source=f"{CIBA} §13", oauth_error="unknown_user_id", status=400)
CIBA_UNKNOWN_REQUEST = rule(
    "PSC-CIBA-002", "auth_req_id is unknown, or was issued to another client.",
    message_fr="auth_req_id est inconnu, ou a été délivré à un autre client.",
    hint="Poll with the auth_req_id the backchannel endpoint returned to this client.",
    source=f"{CIBA} §11", oauth_error="invalid_grant", status=400)
CIBA_EXPIRED = rule(
    "PSC-CIBA-003", "The CIBA authentication request has expired (or was already answered).",
    message_fr="La demande d'authentification CIBA a expiré (ou a déjà reçu sa réponse).",
    hint="Start a new backchannel authentication request.", source=f"{CIBA} §11",
    oauth_error="expired_token", status=400)
CIBA_DENIED = rule(
    "PSC-CIBA-004", "The professional refused the CIBA authentication.",
    message_fr="Le professionnel a refusé l'authentification CIBA.",
    hint="Asked by the test (admin next-login with deny).", source=f"{CIBA} §11",
    oauth_error="access_denied", status=400)

# -- bearer tokens (userinfo, and every mock that checks a PSC token) ----------------------------------
NO_BEARER = rule(
    "PSC-BEARER-001", "The request carries no bearer access token.",
    message_fr="La requête ne porte pas de jeton d'accès bearer.",
    hint="Send Authorization: Bearer <PSC access token>.", source=RFC6750, rem=REM_TOKEN_USE,
    oauth_error="invalid_request", status=401)
FORGED_TOKEN = rule(
    "PSC-BEARER-002", "The access token is not a JWT signed by this Pro Santé Connect: {reason}.",
    message_fr="Le jeton d'accès n'est pas un JWT signé par ce Pro Santé Connect : {reason}.",
    hint="Send the access_token the token endpoint returned, unchanged.", source=RFC6750,
    rem=REM_TOKEN_USE, oauth_error="invalid_token", status=401)
WRONG_ALGORITHM = rule(
    "PSC-BEARER-003", "The access token is signed with alg {alg!r}; Pro Santé Connect signs RS256.",
    message_fr="Le jeton d'accès est signé avec l'alg {alg!r} ; Pro Santé Connect signe en RS256.",
    hint="Never accept or forge an unsigned (alg none) or HMAC token; use the token PSC issued.",
    source=f"{RFC6750}; RFC 8725 §3.1", rem=REM_TOKEN_USE, oauth_error="invalid_token", status=401)
WRONG_ISSUER = rule(
    "PSC-BEARER-004", "The access token was issued by {iss!r}, not {issuer!r}.",
    message_fr="Le jeton d'accès a été émis par {iss!r}, pas par {issuer!r}.",
    hint="Use a token of this Pro Santé Connect (the mock's issuer), not of another environment.",
    source=RFC6750, rem=REM_TOKEN_USE, oauth_error="invalid_token", status=401)
EXPIRED_TOKEN = rule(
    "PSC-BEARER-005", "The access token expired at {exp} (now {now}).",
    message_fr="Le jeton d'accès a expiré à {exp} (maintenant {now}).",
    hint="Refresh the access token (grant_type=refresh_token) before it expires.", source=RFC6750,
    rem=REM_TOKEN_USE, oauth_error="invalid_token", status=401)
WRONG_AUDIENCE = rule(
    "PSC-BEARER-006", "The access token was issued to {azp!r}, which this service does not accept "
                      "(accepted: {accepted}).",
    message_fr="Le jeton d'accès a été délivré à {azp!r}, que ce service n'accepte pas "
               "(acceptés : {accepted}).",
    hint="Use a token obtained by a client this service trusts.", source=RFC6750, rem=REM_TOKEN_USE,
    oauth_error="invalid_token", status=401)
REVOKED_TOKEN = rule(
    "PSC-BEARER-007", "The access token was revoked ({why}).",
    message_fr="Le jeton d'accès a été révoqué ({why}).",
    hint="The PSC session ended (logout, revocation, code replay): authenticate again.", source=RFC6750,
    rem=(*REM_TOKEN_USE, *REM_REFRESH), oauth_error="invalid_token", status=401)
NOT_AN_ACCESS_TOKEN = rule(
    "PSC-BEARER-008", "The token is a {typ!r} token, not an access token.",
    message_fr="Le jeton est un jeton {typ!r}, pas un jeton d'accès.",
    hint="Send the access_token, not the id_token or the refresh token.", source=RFC6750,
    rem=REM_TOKEN_USE, oauth_error="invalid_token", status=401)
UNKNOWN_SUBJECT = rule(
    "PSC-BEARER-009", "The access token names {subject!r}, who is not a professional of the test world.",
    message_fr="Le jeton d'accès désigne {subject!r}, qui n'est pas un professionnel du monde de test.",
    hint="Authenticate as a professional of the world.", source=RFC6750, rem=REM_TOKEN_USE,
    oauth_error="invalid_token", status=401)

# -- logout ----------------------------------------------------------------------------------------------
BAD_LOGOUT_REDIRECT = rule(
    "PSC-LOGOUT-001", "post_logout_redirect_uri {uri!r} is not registered for client {client_id!r}.",
    message_fr="La post_logout_redirect_uri {uri!r} n'est pas enregistrée pour le client {client_id!r}.",
    hint="Send one of the client's registered redirect URIs, with id_token_hint (or client_id).",
    source="OpenID Connect RP-Initiated Logout 1.0 §2, §3", oauth_error="invalid_request", status=400,
    redirect=False)
BAD_ID_TOKEN_HINT = rule(
    "PSC-LOGOUT-002", "id_token_hint is not an ID token of this Pro Santé Connect: {reason}.",
    message_fr="id_token_hint n'est pas un jeton d'identité de ce Pro Santé Connect : {reason}.",
    hint="Send the id_token the token endpoint returned.",
    source="OpenID Connect RP-Initiated Logout 1.0 §2", oauth_error="invalid_request", status=400,
    redirect=False)

ALL = tuple(book)
