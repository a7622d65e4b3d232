"""PSC tokens: the mock's signing key, and the check other mocks run on a PSC access token.

Tokens are JWS compact JWTs signed RS256 with a `kid`, as the recorded PSC tokens are (ANS
proof-of-concept `…/PSC/Token.txt` header). JOSE comes from joserfc, the JOSE library authlib itself
now delegates to (authlib.jose is deprecated in its favour): it refuses `alg: none` and any algorithm
not named, which is what a verifier must do (RFC 8725 §3.1).

    check = verify_access_token(token, jwks=psc.model.jwks(), issuer=psc.model.issuer,
                                audiences={"segur-test-client"}, world=world,
                                is_revoked=psc.model.is_revoked)
    check.professional if check.ok else check.finding
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, RSAKey

from segur.fixtures.world import Professional, World
from segur.kernel.findings import Finding
from segur.mocks.psc import rules

ALGORITHM = "RS256"
#: The `typ` claim Keycloak puts in each kind of token (ANS PoC `Token.txt`: "typ": "Bearer").
ACCESS, ID, REFRESH = "Bearer", "ID", "Refresh"


class SigningKey:
    """An RSA key made at start (2048 bits, a random kid); its public half is the JWKS."""

    def __init__(self, key: RSAKey | None = None):
        self.key = key or RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig",
                                                                 "alg": ALGORITHM})

    @property
    def kid(self) -> str:
        return self.key.kid

    def jwks(self) -> dict:
        return {"keys": [self.key.as_dict(private=False)]}

    def sign(self, claims: dict) -> str:
        return jwt.encode({"alg": ALGORITHM, "typ": "JWT", "kid": self.kid}, claims, self.key,
                          algorithms=[ALGORITHM])


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of `verify_access_token`: the professional the token names, or the finding why not."""

    professional: Professional | None = None
    claims: dict = field(default_factory=dict)
    finding: Finding | None = None

    @property
    def ok(self) -> bool:
        return self.finding is None


def unverified_header(token: str) -> dict:
    """The JOSE header of a compact token, read without trusting it (to name its alg in a refusal)."""
    try:
        head = token.split(".", 1)[0]
        return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}


def decode_signed(token: str, jwks: dict) -> tuple[dict | None, Finding | None]:
    """The claims of a token signed RS256 by a key of `jwks`, or the finding saying why it is not one."""
    header = unverified_header(token) if isinstance(token, str) else {}
    if not header:
        return None, rules.FORGED_TOKEN.finding(reason="not a compact JWS (header.payload.signature)")
    if header.get("alg") != ALGORITHM:
        return None, rules.WRONG_ALGORITHM.finding(alg=header.get("alg"))
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[ALGORITHM])
    except BadSignatureError:
        return None, rules.FORGED_TOKEN.finding(reason="the signature does not verify with the JWKS")
    except InvalidKeyIdError:
        reason = f"its kid {header.get('kid')!r} names no key of the JWKS"
        return None, rules.FORGED_TOKEN.finding(reason=reason)
    except (JoseError, ValueError, TypeError) as exc:
        return None, rules.FORGED_TOKEN.finding(reason=f"{type(exc).__name__}: {exc}".rstrip(": "))
    if not isinstance(decoded.claims, dict):
        return None, rules.FORGED_TOKEN.finding(reason="the payload is not a JSON object")
    return dict(decoded.claims), None


def subject_idnps(claims: dict) -> str:
    """The national id a PSC token names: `preferred_username`, else the tail of `sub` (`f:<uuid>:<id>`)."""
    return str(claims.get("preferred_username") or str(claims.get("sub", "")).rsplit(":", 1)[-1])


def verify_access_token(token: str, *, jwks: dict, issuer: str, audiences: Collection[str] | None,
                        world: World, is_revoked: Callable[[dict], str | None] | None = None,
                        now: float | None = None) -> TokenCheck:
    """Check a PSC access token: signature (RS256, the JWKS), kind, issuer, expiry, audience, revocation.

    `audiences`: the client ids whose tokens the caller accepts (matched on `azp`, or on `aud`); None
    accepts any client. `is_revoked(claims)` says why a token is revoked (a PSC logout, a revocation,
    a replayed code), None when it is not: the running mock's `PscModel.is_revoked`.
    """
    claims, finding = decode_signed(token, jwks)
    if finding is not None:
        return TokenCheck(finding=finding)
    failure = _claims_failure(claims, issuer, audiences, time.time() if now is None else now)
    if failure is None and is_revoked is not None:
        why = is_revoked(claims)
        failure = rules.REVOKED_TOKEN.finding(why=why) if why else None
    if failure is not None:
        return TokenCheck(claims=claims, finding=failure)
    idnps = subject_idnps(claims)
    professional = world.professional_by_idnps(idnps)
    if professional is None:
        return TokenCheck(claims=claims, finding=rules.UNKNOWN_SUBJECT.finding(subject=idnps))
    return TokenCheck(professional, claims)


def _claims_failure(claims: dict, issuer: str, audiences, now: float) -> Finding | None:
    if claims.get("typ") != ACCESS:
        return rules.NOT_AN_ACCESS_TOKEN.finding(typ=claims.get("typ"))
    if claims.get("iss") != issuer:
        return rules.WRONG_ISSUER.finding(iss=claims.get("iss"), issuer=issuer)
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= now:
        return rules.EXPIRED_TOKEN.finding(exp=exp, now=int(now))
    if audiences is not None:
        aud = claims.get("aud") or []
        named = {claims.get("azp"), *([aud] if isinstance(aud, str) else aud)}
        if not named & set(audiences):
            return rules.WRONG_AUDIENCE.finding(azp=claims.get("azp"), accepted=", ".join(sorted(audiences)))
    return None
