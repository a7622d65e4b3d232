"""Pro Santé Connect for the personal mailbox, and the structure's ORG certificate for the application one.

- **Token** (REM MSS/CONF.07): the professional's PSC access token comes from the authorization-code flow
  with PKCE and `login_hint=<IDNPS>` (the PSC mock's test login: no one types a password, docs/psc.md). It is
  kept in the RIS's state with its refresh token; before each MSSanté session the RIS refreshes it, which
  also tells whether the PSC session is still alive: a refused refresh (the session ended: logout, revoked)
  makes it authenticate with PSC again (MSS/CONF.10) and drop the dead token.
- **Every report from the professional's own mailbox** goes that way (`own_mailbox_submit`: the GP's
  reports in the LGC couloir, whatever the task), over the TLS context checking the operator's certificate
  against the CRL (lookup.tls_context).
- **SMTP** with STARTTLS and SASL XOAUTH2: `user=<mailbox>^Aauth=Bearer <token>^A^A` (MSS/CONF.07). When the
  operator ends the session (a 421, or the connection closed) while the token is valid, the RIS opens a new
  session by itself, once (MSS/CONF.11).
- **An authentication error** (PSC refuses the login) is reported as the task's failure and does not stop
  the DMP send of a `send-dmp-mss-psc` task (MSS/CONF.08).
- **ORG certificate** (MSS/CONF.12): a PLAIN login (the application mailbox) presents the structure's ORG
  AUTH_CLI certificate from the test PKI (`org-auth-cli-<IDNST>`: CN the service, OU the IDNST, O the
  structure's name), issued on first use like the DMP's structure certificate.

- **The login** (action `login-psc`, REM PSC.01 and PSC.08): a new code flow for the professional, its tokens
  kept for the sends that follow.

Seeded defects (defects.py): `psc-plain-login`, `psc-stale-token`, `psc-no-reopen`, `psc-error-aborts`,
`app-mailbox-no-cert`, `psc-login-local`, `psc-no-eidas1`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import smtplib
import ssl
import time
from urllib.parse import parse_qs, urlsplit

import requests

from segur.kernel.pki import TestPki

from . import lookup, mssante
from .errors import ConfigError, Refused, RisError, ServiceUnavailable
from .outcome import Outcome


class PscAuthenticationError(RisError):
    """Pro Santé Connect did not authenticate the professional, or MSSanté refused the token."""


class SessionEnded(ServiceUnavailable):
    """The operator ended the SMTP session (421, or the connection closed) before the report was accepted."""


# --- Pro Santé Connect ------------------------------------------------------------------------------------
def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def log_in(config, idnps: str, defect: str | None = None) -> dict:
    """The code flow with PKCE S256, `acr_values=eidas1` (REM PSC.08) and `login_hint`: PSC's token response
    (RFC 6749 §4.1, RFC 7636). With the defect `psc-no-eidas1` the request has no acr_values."""
    config.require("psc_authorization_url", "psc_token_url")
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(12)
    params = {"response_type": "code", "client_id": config.psc_client_id,
              "redirect_uri": config.psc_redirect_uri, "scope": "openid scope_all", "acr_values": "eidas1",
              "state": state, "nonce": secrets.token_urlsafe(12), "code_challenge": challenge,
              "code_challenge_method": "S256", "login_hint": idnps}
    if defect == "psc-no-eidas1":
        del params["acr_values"]
    try:
        answer = requests.get(config.psc_authorization_url, params=params, allow_redirects=False,
                              timeout=config.timeout)
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"Pro Santé Connect unreachable: {type(exc).__name__}: {exc}") from exc
    query = parse_qs(urlsplit(answer.headers.get("Location", "")).query)
    if "code" not in query or query.get("state") != [state]:
        why = (query.get("error_description") or query.get("error") or [f"HTTP {answer.status_code}"])[0]
        raise PscAuthenticationError(f"Pro Santé Connect did not authenticate {idnps}: {why}")
    return _token(config, {"grant_type": "authorization_code", "code": query["code"][0],
                           "redirect_uri": config.psc_redirect_uri, "code_verifier": verifier})


def refresh(config, tokens: dict) -> dict | None:
    """New tokens from the refresh token; None when PSC refuses it (the session ended)."""
    try:
        return _token(config, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    except PscAuthenticationError:
        return None


def _token(config, form: dict) -> dict:
    try:
        answer = requests.post(config.psc_token_url, data=form, timeout=config.timeout,
                               auth=(config.psc_client_id, config.psc_client_secret))
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"Pro Santé Connect unreachable: {type(exc).__name__}: {exc}") from exc
    if answer.status_code >= 500:
        raise ServiceUnavailable(f"Pro Santé Connect answered HTTP {answer.status_code}")
    body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
    if answer.status_code != 200 or "access_token" not in body:
        why = body.get("error_description") or body.get("error") or f"HTTP {answer.status_code}"
        raise PscAuthenticationError(f"Pro Santé Connect refused the {form['grant_type']} grant: {why}")
    return body


def access_token(run, idnps: str) -> str:
    """The professional's access token: the kept one refreshed, else a new login (MSS/CONF.10). With the
    defect `psc-stale-token` the kept one is used as it is."""
    kept = run.state.data.setdefault("psc", {}).get(idnps)
    if kept and run.defect == "psc-stale-token":
        run.step("PSC: the kept access token used as it is (defect psc-stale-token)")
        return kept["access_token"]
    fresh = refresh(run.config, kept) if kept else None
    if fresh is None:
        if kept:
            run.step("PSC: the refresh token was refused (the PSC session ended): authenticating again")
        run.state.data["psc"].pop(idnps, None)
        fresh = log_in(run.config, idnps, run.defect)
        run.step(f"PSC: {idnps} authenticated (authorization code flow)")
    else:
        run.step("PSC: access token refreshed")
    run.state.data["psc"][idnps] = {"access_token": fresh["access_token"],
                                    "refresh_token": fresh.get("refresh_token", ""), "at": time.time()}
    return fresh["access_token"]


# --- SMTP with XOAUTH2 ------------------------------------------------------------------------------------
def xoauth2(mailbox: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64 (REM MSS/CONF.07)."""
    return f"user={mailbox}\x01auth=Bearer {token}\x01\x01"


def submit_xoauth2(config, message, sender: str, recipient: str, token: str,
                   context: ssl.SSLContext | None = None) -> None:
    """One SMTP session: STARTTLS (over `context`, e.g. with the CRL: lookup.tls_context), AUTH XOAUTH2, the
    message. A refused token raises `PscAuthenticationError`, a session the operator ended `SessionEnded`."""
    config.require("smtp_host", "smtp_port")
    try:
        context = mssante.capped(context or ssl.create_default_context(cafile=config.ca_file or None), config)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot read the CA file {config.ca_file}: {exc}") from exc
    try:
        with smtplib.SMTP(config.smtp_host, int(config.smtp_port), timeout=config.timeout) as smtp:
            smtp.ehlo()
            smtp.starttls(context=context)
            smtp.ehlo()
            login = config.login_for(sender)  # a shared harness's tenant rides on the login
            smtp.auth("XOAUTH2", lambda challenge=None: xoauth2(login, token), initial_response_ok=True)
            refused = smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
    except smtplib.SMTPAuthenticationError as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
            else exc.smtp_error
        raise PscAuthenticationError(f"MSSanté refused the PSC token: {exc.smtp_code} {text}") from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise SessionEnded(f"MSSanté closed the session: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code == 421:
            raise SessionEnded(f"MSSanté ended the session: 421 {exc.smtp_error!r}") from exc
        raise Refused(f"MSSanté SMTP: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except (TimeoutError, OSError) as exc:
        raise ServiceUnavailable(f"MSSanté unreachable: {type(exc).__name__}: {exc}") from exc
    if refused:
        raise Refused(f"MSSanté refused the recipient: {refused}")


def personal_submit(run):
    """The `to_mailbox` submit of the personal mailbox: XOAUTH2 with the professional's PSC token, reopened
    once after the operator ends the session; PLAIN with the defect `psc-plain-login`."""
    idnps = run.task.extra.get("idnps") or run.task.author["idnps"]

    def submit(message, sender: str, recipient: str) -> None:
        context = lookup.tls_context(run.config, run.step, run.defect)  # the operator's CRL checked
        if run.defect == "psc-plain-login":
            run.step("MSSanté: personal mailbox opened with PLAIN (defect psc-plain-login)")
            mssante.send(run.config, message, sender, recipient, context)
            return
        token = access_token(run, idnps)
        try:
            submit_xoauth2(run.config, message, sender, recipient, token, context)
        except SessionEnded as ended:
            if run.defect == "psc-no-reopen":
                raise
            run.step(f"MSSanté: {ended}; session reopened with the valid PSC token")
            submit_xoauth2(run.config, message, sender, recipient, token, context)
        except PscAuthenticationError:
            run.state.data["psc"].pop(idnps, None)  # never again: the next task logs in anew
            raise
    return submit


def own_mailbox_submit(run, sender: str):
    """The submit of a report leaving from the acting professional's own mailbox (the GP's, in the LGC
    couloir) when the RIS knows Pro Santé Connect: `personal_submit`, XOAUTH2 with their PSC token
    (MSS/CONF.07); None for another mailbox (the structure's application mailbox: PLAIN with its ORG
    certificate, MSS/CONF.12), or without PSC settings (PLAIN, as before PSC)."""
    if not (run.config.psc_authorization_url and run.config.psc_token_url):
        return None
    own = ((run.task.author or {}).get("professional") or {}).get("mailbox") or ""
    return personal_submit(run) if own and sender.lower() == own.lower() else None


# --- the actions ------------------------------------------------------------------------------------------
def send_mss_psc(run):
    """Action `send-psc-mss`: the report by MSSanté from the author's personal mailbox with XOAUTH2."""
    identity = run.identity()
    sent_to = run.to_mailbox(identity, submit=personal_submit(run))
    return run.outcome(sent_to, identity, "(XOAUTH2, Pro Santé Connect)")


def send_dmp_mss_psc(run):
    """Action `send-dmp-mss-psc`: by MSSanté from the personal mailbox, then to the DMP. An MSSanté
    authentication error does not stop the DMP send (MSS/CONF.08); the task then fails, saying so. With the
    defect `psc-error-aborts` the error ends the task before the DMP."""
    identity = run.identity()
    try:
        run.to_mailbox(identity, submit=personal_submit(run))
    except PscAuthenticationError as error:
        if run.defect == "psc-error-aborts":
            run.step(f"MSSanté: {error}; task aborted (defect psc-error-aborts)")
            raise
        run.step(f"MSSanté: {error}; the DMP send goes on")
        run.to_dmp(identity)
        raise PscAuthenticationError(f"report sent to the DMP, but not by MSSanté: {error}") from error
    run.to_dmp(identity)
    return run.outcome(f"DMP and {run.task.recipient}", identity, "(XOAUTH2, Pro Santé Connect)")


def login_psc(run):
    """Action `login-psc`: the professional logs in with PSC as a user opening a session (PSC.01, PSC.08):
    a new code flow with PKCE, its tokens kept for the later sends. With the defect `psc-login-local` the RIS
    takes the login on a local account and asks PSC nothing; with `psc-no-eidas1` (in `log_in`) the
    authorization request has no acr_values."""
    idnps = run.task.extra.get("idnps") or run.task.author["idnps"]
    if run.defect == "psc-login-local":
        run.step(f"login: {idnps} on a local account, Pro Santé Connect not asked (defect psc-login-local)")
        return Outcome(run.task.id, "local account", None, f"{idnps} logged in (local account)", run.steps)
    tokens = log_in(run.config, idnps, run.defect)
    run.state.data.setdefault("psc", {})[idnps] = {"access_token": tokens["access_token"],
                                                   "refresh_token": tokens.get("refresh_token", ""),
                                                   "at": time.time()}
    run.step(f"PSC: {idnps} authenticated (authorization code flow)")
    return Outcome(run.task.id, "Pro Santé Connect", None, f"{idnps} logged in with Pro Santé Connect",
                   run.steps)


HANDLERS = {"send-psc-mss": send_mss_psc, "send-dmp-mss-psc": send_dmp_mss_psc, "login-psc": login_psc}


# --- the application mailbox's ORG certificate -------------------------------------------------------------
def present_org_certificate(run, context) -> None:
    """Load the structure's ORG AUTH_CLI certificate into the TLS `context` of a PLAIN login (REM
    MSS/CONF.12), when there is one to present."""
    files = org_certificate(run)
    if files is not None:
        try:
            context.load_cert_chain(str(files.cert_file), str(files.key_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot read the ORG certificate {files.cert_file}: {exc}") from exc


def org_certificate(run):
    """The structure's ORG AUTH_CLI certificate files of the test PKI (issued on first use), presented with a
    PLAIN login (REM MSS/CONF.12); None without a PKI, or with the defect `app-mailbox-no-cert`."""
    if run.defect == "app-mailbox-no-cert" or not run.config.pki_dir:
        return None
    author = run.task.author or {}
    structure = author.get("idnst")
    pki = TestPki(run.config.pki_dir)
    if not structure or not pki.ca_file.exists():
        return None
    name = f"org-auth-cli-{structure}"
    if not pki.client(name).cert_file.exists():
        pki.issue_client(name, "RIS-REFERENCE", author.get("organisation_name") or structure, structure)
    return pki.client(name)
