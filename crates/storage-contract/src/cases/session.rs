//! Sessions (console, portal, member), signing keys and assertion ids.

use chrono::Duration;
use serde_json::json;
use tengine_domain::member_session::{PublicKey, SigningAlg, SigningKey};
use tengine_domain::session::{PortalSection, PortalTheme, Session, SessionKind};
use tengine_domain::{KeyScope, Member, PageRequest, PermissionSet, SessionId, SigningKeyId};
use tengine_ports::Store;
use uuid::Uuid;

use crate::fixtures::{account, at, key, project};

fn session(
    kind: SessionKind,
    account: &tengine_domain::Account,
    key_id: tengine_domain::ApiKeyId,
    project: tengine_domain::ProjectId,
    created: i64,
) -> Session {
    Session {
        id: SessionId::from_uuid(Uuid::now_v7()),
        kind,
        account_id: account.id,
        key_id,
        project_id: Some(project),
        permissions: PermissionSet::parse_list("p", &["read", "webhook"]).expect("perms"),
        sections: vec![PortalSection::Keys, PortalSection::Usage],
        allowed_origins: vec!["https://app.example.com".into(), "http://localhost:3000".into()],
        theme: Some(PortalTheme { accent: Some("#0af".into()), radius: Some("6px".into()), ..Default::default() }),
        expires_at: at(created + 3_600),
        created_at: at(created),
        revoked_at: None,
        exchanged: false,
        member: None,
    }
}

/// A portal session reads back whole; its code opens it once, then its token finds it
/// with its key; revoking ends it; expired ones are purged.
pub async fn a_portal_code_is_exchanged_once_and_its_token_finds_the_session_and_key<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let (k, _) = key(store, acct.id, KeyScope::Account, at(0)).await;
    let s = session(SessionKind::Portal, &acct, k.id, p.id, 10);
    store.insert_session(&s, None, Some([1; 32])).await.expect("insert");
    assert_eq!(store.get_session(s.id).await.expect("get"), Some(s.clone()));
    assert_eq!(store.find_session([2; 32]).await.expect("find"), None, "no token before the exchange");
    let opened = store.exchange_session_code([1; 32], [2; 32], at(20)).await.expect("exchange");
    assert_eq!(opened, Some(Session { exchanged: true, ..s.clone() }));
    assert_eq!(store.exchange_session_code([1; 32], [3; 32], at(21)).await.expect("again"), None, "a code works once");
    let (found, by) = store.find_session([2; 32]).await.expect("find").expect("found");
    assert_eq!((found.id, by.id), (s.id, k.id));
    let listed = store.list_sessions(p.id, SessionKind::Portal, PageRequest::new(1, 10)).await.expect("list");
    assert_eq!(listed.items.iter().map(|x| x.id).collect::<Vec<_>>(), vec![s.id]);
    assert!(store
        .list_sessions(p.id, SessionKind::Console, PageRequest::new(1, 10))
        .await
        .expect("list")
        .items
        .is_empty());
    let other = account(store).await;
    assert!(!store.revoke_session(other.id, s.id, at(30)).await.expect("revoke"), "another account's session");
    assert!(store.revoke_session(acct.id, s.id, at(30)).await.expect("revoke"));
    assert!(!store.revoke_session(acct.id, s.id, at(31)).await.expect("revoke"), "revoked once");
    let (gone, _) = store.find_session([2; 32]).await.expect("find").expect("still found, revoked");
    assert_eq!(gone.revoked_at, Some(at(30)));
    // An expired code never opens.
    let late = session(SessionKind::Portal, &acct, k.id, p.id, 100);
    store.insert_session(&late, None, Some([4; 32])).await.expect("insert");
    assert_eq!(store.exchange_session_code([4; 32], [5; 32], at(100 + 3_600)).await.expect("x"), None);
    assert_eq!(store.purge_sessions(at(100 + 3_601)).await.expect("purge"), 2);
    assert_eq!(store.get_session(late.id).await.expect("get"), None);
}

/// A member session keeps its member; a duplicate token digest is a conflict.
pub async fn a_member_session_keeps_its_member<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let (k, _) = key(store, acct.id, KeyScope::Project(p.id), at(0)).await;
    let member = Member::parse("user-42", Some("ada@example.com"), &["admin", "billing"]).expect("member");
    let s = Session {
        kind: SessionKind::Member,
        sections: Vec::new(),
        allowed_origins: Vec::new(),
        theme: None,
        exchanged: true,
        member: Some(member),
        ..session(SessionKind::Member, &acct, k.id, p.id, 5)
    };
    store.insert_session(&s, Some([9; 32]), None).await.expect("insert");
    let (found, _) = store.find_session([9; 32]).await.expect("find").expect("found");
    assert_eq!(found, s);
    let twin = Session { id: SessionId::from_uuid(Uuid::now_v7()), ..s };
    assert!(matches!(
        store.insert_session(&twin, Some([9; 32]), None).await,
        Err(tengine_ports::RepoError::Conflict(_))
    ));
}

/// Signing keys round-trip (PEM and JWK), are found by kid, unique per project; an
/// assertion id is claimed once per project and forgotten after it expires.
pub async fn signing_keys_round_trip_and_jtis_are_claimed_once<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let q = project(store, acct.id, at(1)).await;
    let new = |kid: &str, key: PublicKey, secs| SigningKey {
        id: SigningKeyId::from_uuid(Uuid::now_v7()),
        account_id: acct.id,
        project_id: p.id,
        kid: kid.to_owned(),
        alg: SigningAlg::EdDsa,
        key,
        created_at: at(secs),
    };
    let pem =
        new("a", PublicKey::Pem("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n".into()), 1);
    let jwk = new("b", PublicKey::Jwk(json!({"kty": "OKP", "crv": "Ed25519", "x": "11qY"})), 2);
    store.insert_signing_key(&pem).await.expect("insert");
    store.insert_signing_key(&jwk).await.expect("insert");
    assert!(matches!(
        store.insert_signing_key(&new("a", pem.key.clone(), 3)).await,
        Err(tengine_ports::RepoError::Conflict(_))
    ));
    assert_eq!(store.find_signing_key(p.id, "b").await.expect("find"), Some(jwk.clone()));
    assert_eq!(store.find_signing_key(q.id, "b").await.expect("find"), None);
    assert_eq!(store.get_signing_key(p.id, pem.id).await.expect("get"), Some(pem.clone()));
    let page = store.list_signing_keys(p.id, PageRequest::new(1, 10)).await.expect("list");
    assert_eq!((page.total, page.items), (2, vec![jwk.clone(), pem.clone()]));
    assert!(store.delete_signing_key(p.id, pem.id).await.expect("delete"));
    assert!(!store.delete_signing_key(p.id, pem.id).await.expect("delete"));

    let exp = at(60);
    assert!(store.claim_assertion_jti(p.id, "j", exp).await.expect("claim"));
    assert!(!store.claim_assertion_jti(p.id, "j", exp).await.expect("claim"), "replayed");
    assert!(store.claim_assertion_jti(q.id, "j", exp).await.expect("claim"), "per project");
    assert_eq!(store.purge_assertion_jtis(exp + Duration::seconds(1)).await.expect("purge"), 2);
    assert!(store.claim_assertion_jti(p.id, "j", at(200)).await.expect("claim"), "forgotten after expiry");
}
