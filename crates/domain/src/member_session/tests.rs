//! Registration and verification of member assertions, with test-only keys.
#![allow(clippy::unwrap_used)]

use chrono::TimeZone;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use super::*;

const AUD: &str = "https://mcp.example.com";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap()
}

fn pair(alg: SigningAlg) -> (&'static str, &'static str) {
    match alg {
        SigningAlg::Es256 => (include_str!("testdata/es256.key"), include_str!("testdata/es256.pub")),
        SigningAlg::Es384 => (include_str!("testdata/es384.key"), include_str!("testdata/es384.pub")),
        SigningAlg::EdDsa => (include_str!("testdata/ed.key"), include_str!("testdata/ed.pub")),
        SigningAlg::Rs256 => (include_str!("testdata/rsa.key"), include_str!("testdata/rsa.pub")),
    }
}

fn encoding(alg: SigningAlg) -> EncodingKey {
    let private = pair(alg).0.as_bytes();
    match alg {
        SigningAlg::Es256 | SigningAlg::Es384 => EncodingKey::from_ec_pem(private).unwrap(),
        SigningAlg::EdDsa => EncodingKey::from_ed_pem(private).unwrap(),
        SigningAlg::Rs256 => EncodingKey::from_rsa_pem(private).unwrap(),
    }
}

fn key(alg: SigningAlg) -> SigningKey {
    let new = NewSigningKey::parse("k1", alg.as_str(), Some(pair(alg).1), None).unwrap();
    SigningKey {
        id: SigningKeyId::from_uuid(uuid::Uuid::from_u128(1)),
        account_id: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
        project_id: ProjectId::from_uuid(uuid::Uuid::from_u128(3)),
        kid: new.kid,
        alg: new.alg,
        key: new.key,
        created_at: now(),
    }
}

fn sign(alg: SigningAlg, claims: serde_json::Value) -> String {
    let mut header = Header::new(alg.jose());
    header.kid = Some("k1".into());
    encode(&header, &claims, &encoding(alg)).unwrap()
}

fn claims() -> serde_json::Value {
    let t = now().timestamp();
    json!({"sub": "user-42", "email": "ada@example.com", "roles": ["admin"], "aud": AUD,
           "iat": t, "exp": t + 30, "jti": "j-1"})
}

#[test]
fn every_algorithm_verifies_a_good_assertion() {
    for alg in SigningAlg::ALL {
        let got = verify_assertion(&sign(alg, claims()), &key(alg), AUD, now()).unwrap();
        assert_eq!(got.member.id.as_str(), "user-42");
        assert_eq!(got.member.roles_joined(), "admin");
        assert_eq!((got.jti.as_str(), got.expires_at), ("j-1", now() + Duration::seconds(30)));
    }
}

#[test]
fn each_broken_rule_is_named() {
    let alg = SigningAlg::Es256;
    let t = now().timestamp();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut c = claims();
        edit(&mut c);
        verify_assertion(&sign(alg, c), &key(alg), AUD, now())
    };
    assert_eq!(with(&|c| c["exp"] = json!(t - 10)), Err(AssertionError::Expired));
    assert_eq!(with(&|c| c["exp"] = json!(t + 600)), Err(AssertionError::TooLong));
    assert_eq!(with(&|c| c["nbf"] = json!(t + 30)), Err(AssertionError::TooLong));
    assert_eq!(with(&|c| c["aud"] = json!("https://other.example.com")), Err(AssertionError::WrongAudience));
    assert_eq!(with(&|c| c["aud"] = json!(["x", AUD])).map(|v| v.jti), Ok("j-1".to_owned()));
    assert_eq!(with(&|c| drop(c.as_object_mut().unwrap().remove("jti"))), Err(AssertionError::MissingJti));
    assert!(matches!(with(&|c| c["sub"] = json!("bad\r\nid")), Err(AssertionError::BadClaim(_))));
    // Signed by another key of the same kind: the signature does not verify.
    let other = sign(SigningAlg::Es256, claims());
    assert_eq!(verify_assertion(&other, &key(SigningAlg::Es384), AUD, now()), Err(AssertionError::AlgMismatch));
    let forged = sign(SigningAlg::Es384, claims());
    let mut wrong = key(SigningAlg::Es384);
    wrong.key = key(SigningAlg::Es384).key;
    let mut tampered = forged.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    assert_eq!(verify_assertion(&tampered, &wrong, AUD, now()), Err(AssertionError::BadSignature));
    assert_eq!(assertion_kid("not.a.jwt"), Err(AssertionError::Malformed));
    assert_eq!(assertion_kid(&sign(alg, claims())).as_deref(), Ok("k1"));
}

#[test]
fn an_unsigned_or_hmac_token_never_verifies() {
    // `alg: none` and HS256 (keyed with the public key's text) are refused by the header check.
    let t = now().timestamp();
    let hs = encode(
        &Header { kid: Some("k1".into()), ..Header::new(jsonwebtoken::Algorithm::HS256) },
        &claims(),
        &EncodingKey::from_secret(pair(SigningAlg::Es256).1.as_bytes()),
    )
    .unwrap();
    assert_eq!(verify_assertion(&hs, &key(SigningAlg::Es256), AUD, now()), Err(AssertionError::AlgMismatch));
    let none = format!(
        "{}.{}.",
        B64URL_NOPAD.encode(r#"{"alg":"none","kid":"k1"}"#),
        B64URL_NOPAD.encode(json!({"sub": "x", "aud": AUD, "exp": t + 30, "jti": "j"}).to_string())
    );
    assert!(verify_assertion(&none, &key(SigningAlg::Es256), AUD, now()).is_err());
}

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL_NOPAD;

#[test]
fn registrations_take_public_keys_that_fit_their_alg_and_never_private_ones() {
    for alg in SigningAlg::ALL {
        assert!(NewSigningKey::parse("k", alg.as_str(), Some(pair(alg).1), None).is_ok(), "{alg:?}");
        let private = NewSigningKey::parse("k", alg.as_str(), Some(pair(alg).0), None).unwrap_err();
        assert!(private.first().reason.contains("private"), "{alg:?}: {private}");
    }
    // A P-384 key registered as ES256, an Ed25519 key as RS256.
    assert_eq!(
        NewSigningKey::parse("k", "ES256", Some(pair(SigningAlg::Es384).1), None).unwrap_err().first().field,
        "public_key_pem"
    );
    assert!(NewSigningKey::parse("k", "RS256", Some(pair(SigningAlg::EdDsa).1), None).is_err());
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    assert!(NewSigningKey::parse("k", "EdDSA", None, Some(&jwk)).is_ok());
    let mut private = jwk.clone();
    private["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    assert!(NewSigningKey::parse("k", "EdDSA", None, Some(&private)).unwrap_err().first().reason.contains("private"));
    let mismatched = json!({"kty": "OKP", "crv": "Ed25519", "alg": "ES256", "x": jwk["x"]});
    assert!(NewSigningKey::parse("k", "EdDSA", None, Some(&mismatched)).is_err());
    assert!(NewSigningKey::parse("k", "ES256", None, Some(&jwk)).is_err());
    let both = NewSigningKey::parse("", "HS256", Some("x"), Some(&jwk)).unwrap_err();
    let fields: Vec<&str> = both.errors().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["kid", "alg", "public_key_pem"]);
}
