//! Member sessions: a project's backend vouches for one of its users with a short-lived
//! signed `member_assertion` (a JWT), which Tengine checks against the public keys the
//! project registered and exchanges for a `tng_mst_` token bound to that member.
//!
//! Checking is pure: the keys, the audience and the time come in as arguments.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::error::{FieldError, ValidationError, Validator};
use crate::ids::{AccountId, ProjectId, SigningKeyId};
use crate::member::Member;

/// How far ahead an assertion's `exp` may be.
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::seconds(60);

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: Duration = Duration::seconds(5);

/// How long a member session token lives.
pub const MEMBER_SESSION_LIFETIME: Duration = Duration::minutes(15);

/// The prefix of member session tokens.
pub const TOKEN_PREFIX: &str = "tng_mst_";

/// The field every assertion refusal names.
pub const FIELD: &str = "member_assertion";

/// A signature algorithm a project may register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlg {
    /// ECDSA over P-256 with SHA-256.
    Es256,
    /// ECDSA over P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl SigningAlg {
    /// Every algorithm, by wire name.
    pub const ALL: [Self; 4] = [Self::Es256, Self::Es384, Self::EdDsa, Self::Rs256];

    /// Its JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }

    fn jose(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::Es384 => Algorithm::ES384,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Rs256 => Algorithm::RS256,
        }
    }

    /// The DER of the key type (and curve) object identifiers a public key of this
    /// algorithm carries in its SubjectPublicKeyInfo.
    fn spki_oid(self) -> &'static [u8] {
        match self {
            // prime256v1
            Self::Es256 => &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
            // secp384r1
            Self::Es384 => &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22],
            // Ed25519
            Self::EdDsa => &[0x06, 0x03, 0x2B, 0x65, 0x70],
            // rsaEncryption
            Self::Rs256 => &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01],
        }
    }

    /// The JWK `kty` and `crv` of this algorithm's keys.
    fn jwk_type(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Es256 => ("EC", Some("P-256")),
            Self::Es384 => ("EC", Some("P-384")),
            Self::EdDsa => ("OKP", Some("Ed25519")),
            Self::Rs256 => ("RSA", None),
        }
    }
}

impl std::str::FromStr for SigningAlg {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            FieldError::new("alg", "must be one of ES256, ES384, EdDSA, RS256")
                .with_value(s.chars().take(16).collect::<String>())
                .into()
        })
    }
}

/// A registered public key, as given: a PEM (SubjectPublicKeyInfo) or a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// `-----BEGIN PUBLIC KEY-----` text.
    Pem(String),
    /// A JWK object, as JSON.
    Jwk(Value),
}

impl PublicKey {
    fn decoding_key(&self, alg: SigningAlg) -> Option<DecodingKey> {
        match self {
            Self::Pem(pem) => match alg {
                SigningAlg::Es256 | SigningAlg::Es384 => DecodingKey::from_ec_pem(pem.as_bytes()).ok(),
                SigningAlg::EdDsa => DecodingKey::from_ed_pem(pem.as_bytes()).ok(),
                SigningAlg::Rs256 => DecodingKey::from_rsa_pem(pem.as_bytes()).ok(),
            },
            Self::Jwk(v) => serde_json::from_value::<Jwk>(v.clone()).ok().and_then(|j| DecodingKey::from_jwk(&j).ok()),
        }
    }
}

/// A project's public key for member assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Its id.
    pub id: SigningKeyId,
    /// The project's account.
    pub account_id: AccountId,
    /// The project.
    pub project_id: ProjectId,
    /// The JWT header `kid` that names it.
    pub kid: String,
    /// The one algorithm it verifies.
    pub alg: SigningAlg,
    /// The key.
    pub key: PublicKey,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// A checked registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSigningKey {
    /// See [`SigningKey::kid`].
    pub kid: String,
    /// See [`SigningKey::alg`].
    pub alg: SigningAlg,
    /// See [`SigningKey::key`].
    pub key: PublicKey,
}

/// Whether a PEM holds private material (never stored, whatever the algorithm).
fn pem_is_private(pem: &str) -> bool {
    pem.contains("PRIVATE KEY")
}

/// The DER inside a one-block PEM.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().map(str::trim).filter(|l| !l.starts_with("-----") && !l.is_empty()).collect();
    B64.decode(body).ok()
}

fn check_pem(pem: &str, alg: SigningAlg, v: &mut Validator) {
    if pem.len() > 16_384 {
        v.push(FieldError::new("public_key_pem", "must be at most 16384 characters"));
        return;
    }
    if pem_is_private(pem) {
        v.push(FieldError::new("public_key_pem", "holds a private key: register only the public key"));
        return;
    }
    let spki = pem.contains("-----BEGIN PUBLIC KEY-----") && pem.contains("-----END PUBLIC KEY-----");
    let der = pem_der(pem);
    let matches = der.as_deref().is_some_and(|d| d.windows(alg.spki_oid().len()).any(|w| w == alg.spki_oid()));
    if !spki || !matches || PublicKey::Pem(pem.to_owned()).decoding_key(alg).is_none() {
        v.push(FieldError::new(
            "public_key_pem",
            format!("must be a PEM public key (BEGIN PUBLIC KEY) of the kind {} uses", alg.as_str()),
        ));
    }
}

fn check_jwk(jwk: &Value, alg: SigningAlg, v: &mut Validator) {
    let Some(obj) = jwk.as_object() else {
        v.push(FieldError::new("jwk", "must be a JSON Web Key object"));
        return;
    };
    if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|f| obj.contains_key(*f)) {
        v.push(FieldError::new("jwk", "holds private material: register only the public key"));
        return;
    }
    let (kty, crv) = alg.jwk_type();
    let field = |f: &str| obj.get(f).and_then(Value::as_str);
    if field("kty") != Some(kty) || crv.is_some_and(|c| field("crv") != Some(c)) {
        let want = crv.map_or_else(|| format!("kty {kty}"), |c| format!("kty {kty} and crv {c}"));
        v.push(FieldError::new("jwk", format!("must be a {} key ({want})", alg.as_str())));
        return;
    }
    if field("alg").is_some_and(|a| a != alg.as_str()) {
        v.push(FieldError::new("jwk", "its alg differs from the key's alg"));
        return;
    }
    if PublicKey::Jwk(jwk.clone()).decoding_key(alg).is_none() {
        v.push(FieldError::new("jwk", "is not a usable public key"));
    }
}

impl NewSigningKey {
    /// Checks a registration: a `kid`, an `alg`, and exactly one public key that fits it.
    ///
    /// # Errors
    /// Every refused field.
    pub fn parse(kid: &str, alg: &str, pem: Option<&str>, jwk: Option<&Value>) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let kid_ok =
            (1..=128).contains(&kid.chars().count()) && !kid.chars().any(|c| c.is_control() || c.is_whitespace());
        if !kid_ok {
            v.push(FieldError::new("kid", "must be 1 to 128 visible characters without spaces"));
        }
        let alg = v.check(alg.parse::<SigningAlg>());
        let key = match (pem, jwk) {
            (Some(p), None) => Some(PublicKey::Pem(p.to_owned())),
            (None, Some(j)) => Some(PublicKey::Jwk(j.clone())),
            _ => {
                v.push(FieldError::new("public_key_pem", "give exactly one of public_key_pem and jwk"));
                None
            }
        };
        if let (Some(alg), Some(key)) = (alg, &key) {
            match key {
                PublicKey::Pem(p) => check_pem(p, alg, &mut v),
                PublicKey::Jwk(j) => check_jwk(j, alg, &mut v),
            }
        }
        v.finish()?;
        match (alg, key) {
            (Some(alg), Some(key)) => Ok(Self { kid: kid.to_owned(), alg, key }),
            _ => Err(ValidationError::field(FIELD, "is invalid")),
        }
    }
}

/// Why an assertion was refused; each is a 422 naming `member_assertion`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// Not a JWT, or no `kid` in its header.
    #[error("is not a signed JWT with a kid")]
    Malformed,
    /// No key of the project has this `kid`.
    #[error("names a kid the project has not registered")]
    UnknownKid,
    /// The header's `alg` is not the registered key's.
    #[error("is signed with another alg than its key's")]
    AlgMismatch,
    /// The signature does not verify (or the claims do not parse).
    #[error("has a signature that does not verify")]
    BadSignature,
    /// `aud` is missing or not this server.
    #[error("is for another audience")]
    WrongAudience,
    /// `exp` is missing or past.
    #[error("has expired")]
    Expired,
    /// `exp` is more than 60 seconds ahead, or `nbf`/`iat` in the future.
    #[error("is valid too far ahead: exp may be at most 60 seconds away")]
    TooLong,
    /// `jti` is missing.
    #[error("has no jti")]
    MissingJti,
    /// This `jti` was used before.
    #[error("was already used (its jti was seen before)")]
    Replayed,
    /// A member claim is invalid.
    #[error("has an invalid claim: {0}")]
    BadClaim(String),
}

/// What a verified assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The member.
    pub member: Member,
    /// Its `jti`, to be claimed once.
    pub jti: String,
    /// Its `exp`: the jti need only be remembered until then.
    pub expires_at: DateTime<Utc>,
}

/// The `kid` an assertion names, read before its key is looked up.
///
/// # Errors
/// `Malformed` without a JWT header or a `kid`.
pub fn assertion_kid(token: &str) -> Result<String, AssertionError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AssertionError::Malformed)?;
    header.kid.filter(|k| !k.is_empty() && k.len() <= 128).ok_or(AssertionError::Malformed)
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: Option<String>,
    email: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    aud: Option<Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
}

/// Verifies `token` with `key` (the project's key named by its `kid`) for `audience` at
/// `now`.
///
/// # Errors
/// The first rule it breaks, as [`AssertionError`].
pub fn verify_assertion(
    token: &str,
    key: &SigningKey,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, AssertionError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AssertionError::Malformed)?;
    if header.alg != key.alg.jose() {
        return Err(AssertionError::AlgMismatch);
    }
    let decoding = key.key.decoding_key(key.alg).ok_or(AssertionError::BadSignature)?;
    // Time and audience are checked below against the clock port's `now`.
    let mut validation = Validation::new(key.alg.jose());
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims =
        jsonwebtoken::decode::<Claims>(token, &decoding, &validation).map_err(|_| AssertionError::BadSignature)?.claims;
    let audience_ok = match &claims.aud {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(AssertionError::WrongAudience);
    }
    let at = |secs: i64| DateTime::from_timestamp(secs, 0);
    let exp = claims.exp.and_then(at).ok_or(AssertionError::Expired)?;
    if exp + LEEWAY <= now {
        return Err(AssertionError::Expired);
    }
    let future = |t: Option<i64>| t.and_then(at).is_some_and(|t| t > now + LEEWAY);
    if exp > now + MAX_ASSERTION_LIFETIME + LEEWAY || future(claims.nbf) || future(claims.iat) {
        return Err(AssertionError::TooLong);
    }
    let jti = claims.jti.filter(|j| !j.is_empty() && j.len() <= 255).ok_or(AssertionError::MissingJti)?;
    let sub = claims.sub.ok_or_else(|| AssertionError::BadClaim("sub is required".to_owned()))?;
    let roles = claims.roles.unwrap_or_default();
    let member =
        Member::parse(&sub, claims.email.as_deref(), &roles).map_err(|e| AssertionError::BadClaim(e.to_string()))?;
    Ok(VerifiedAssertion { member, jti, expires_at: exp })
}

#[cfg(test)]
mod tests;
