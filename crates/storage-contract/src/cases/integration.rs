//! Integrations (OAuth clients), their connections, codes and tokens, and the
//! registration policy.

use chrono::Duration;
use tengine_domain::integration::{
    AuthCode, ClientType, Connection, Integration, OAuthToken, RedirectUri, RegistrationPolicy, TokenKind,
};
use tengine_domain::{ConnectionId, IntegrationId, PageRequest, Permission, PermissionSet};
use tengine_ports::Store;
use uuid::Uuid;

use crate::fixtures::{account, at, key_id, project};

fn perms(p: &[Permission]) -> PermissionSet {
    p.iter().copied().collect()
}

fn integration(account: tengine_domain::AccountId, project: tengine_domain::ProjectId, created: i64) -> Integration {
    Integration {
        id: IntegrationId::from_uuid(Uuid::now_v7()),
        account_id: account,
        project_id: project,
        name: "Agent".into(),
        redirect_uris: vec![
            RedirectUri::parse("http://127.0.0.1/cb").expect("uri"),
            RedirectUri::parse("com.example.app:/cb").expect("uri"),
        ],
        permissions: perms(&[Permission::Read, Permission::Write]),
        client_type: ClientType::Confidential,
        dynamic: false,
        created_at: at(created),
        updated_at: at(created),
    }
}

fn connection(i: &Integration, permissions: PermissionSet, created: i64) -> Connection {
    Connection {
        id: ConnectionId::from_uuid(Uuid::now_v7()),
        account_id: i.account_id,
        project_id: i.project_id,
        integration_id: i.id,
        approved_by: key_id(),
        permissions,
        resource: Some("http://127.0.0.1/mcp".into()),
        created_at: at(created),
        last_used_at: None,
        revoked_at: None,
    }
}

fn code(i: &Integration, by: tengine_domain::ApiKeyId) -> AuthCode {
    AuthCode {
        integration_id: i.id,
        account_id: i.account_id,
        project_id: i.project_id,
        redirect_uri: "http://127.0.0.1:5000/cb".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        permissions: perms(&[Permission::Read]),
        resource: None,
        approved_by: by,
        expires_at: at(60),
        used_at: None,
        connection_id: None,
    }
}

async fn insert<S: Store>(store: &S, i: &Integration, secret: Option<[u8; 32]>) {
    let mut tx = store.begin().await.expect("begin");
    tx.insert_integration(i, secret).await.expect("insert");
    tx.commit().await.expect("commit");
}

/// An integration reads back whole, by project and as a client with its secret digest;
/// changes and a new secret are written; lists are newest first.
pub async fn an_integration_round_trips_and_is_found_as_a_client<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let first = integration(acct.id, p.id, 10);
    let second = Integration { dynamic: true, client_type: ClientType::Public, ..integration(acct.id, p.id, 20) };
    insert(store, &first, Some([7; 32])).await;
    insert(store, &second, None).await;
    assert_eq!(store.get_integration(p.id, first.id).await.expect("get"), Some(first.clone()));
    assert_eq!(store.find_client(first.id).await.expect("find"), Some((first.clone(), Some([7; 32]))));
    assert_eq!(store.find_client(second.id).await.expect("find"), Some((second.clone(), None)));
    let page = store.list_integrations(p.id, PageRequest::new(1, 10)).await.expect("list");
    assert_eq!(page.items, vec![second.clone(), first.clone()]);
    assert_eq!(page.total, 2);
    assert_eq!(store.count_dynamic_integrations(p.id).await.expect("count"), 1);
    let mut changed = first.clone();
    changed.name = "Renamed".into();
    changed.permissions = perms(&[Permission::Read]);
    changed.updated_at = at(30);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.lock_integration(p.id, first.id).await.expect("lock"), Some(first.clone()));
    tx.update_integration(&changed).await.expect("update");
    tx.set_client_secret(first.id, [8; 32]).await.expect("secret");
    tx.commit().await.expect("commit");
    assert_eq!(store.find_client(first.id).await.expect("find"), Some((changed, Some([8; 32]))));
    let other = project(store, acct.id, at(1)).await;
    assert_eq!(store.get_integration(other.id, first.id).await.expect("get"), None, "only under its project");
}

/// A code is marked used by its first use, which sees it unused; the second sees the
/// use and the connection it made.
pub async fn an_auth_code_is_used_once_and_remembers_its_connection<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let i = integration(acct.id, p.id, 10);
    insert(store, &i, None).await;
    let by = key_id();
    store.insert_auth_code([1; 32], &code(&i, by)).await.expect("insert code");
    let c = connection(&i, perms(&[Permission::Read]), 20);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.use_auth_code([1; 32], at(20)).await.expect("use"), Some(code(&i, by)), "first use: unused");
    tx.insert_connection(&c, [1; 32]).await.expect("connection");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    let again = tx.use_auth_code([1; 32], at(30)).await.expect("use").expect("still there");
    assert_eq!((again.used_at, again.connection_id), (Some(at(20)), Some(c.id)));
    assert_eq!(tx.use_auth_code([2; 32], at(30)).await.expect("use"), None, "unknown code");
    tx.commit().await.expect("commit");
}

/// Tokens are found with their connection; a refresh token is spent once; revoking a
/// connection deletes its tokens; narrowing changes only what it must.
pub async fn tokens_follow_their_connection<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let i = integration(acct.id, p.id, 10);
    insert(store, &i, None).await;
    let by = key_id();
    store.insert_auth_code([1; 32], &code(&i, by)).await.expect("code");
    let admin = connection(&i, perms(&[Permission::Admin]), 20);
    let reader = connection(&i, perms(&[Permission::Read]), 21);
    let access = OAuthToken { kind: TokenKind::Access, connection_id: admin.id, expires_at: at(3_600), spent_at: None };
    let refresh =
        OAuthToken { kind: TokenKind::Refresh, connection_id: admin.id, expires_at: at(9_000), spent_at: None };
    let mut tx = store.begin().await.expect("begin");
    tx.insert_connection(&admin, [1; 32]).await.expect("connection");
    tx.insert_connection(&reader, [1; 32]).await.expect("connection");
    tx.insert_oauth_token([10; 32], &access).await.expect("access");
    tx.insert_oauth_token([11; 32], &refresh).await.expect("refresh");
    tx.commit().await.expect("commit");
    assert_eq!(store.find_oauth_token([10; 32]).await.expect("find"), Some((access.clone(), admin.clone())));
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.spend_refresh_token([11; 32], at(40)).await.expect("spend"), Some((refresh.clone(), admin.clone())));
    let again = tx.spend_refresh_token([11; 32], at(50)).await.expect("spend").expect("found");
    assert_eq!(again.0.spent_at, Some(at(40)), "the second use sees the first");
    // Narrowing to read and write: the admin grant becomes read and write; read stays.
    let narrowed =
        tx.narrow_connections(i.id, perms(&[Permission::Read, Permission::Write]), at(45)).await.expect("narrow");
    assert_eq!(
        narrowed.iter().map(|c| (c.id, c.permissions)).collect::<Vec<_>>(),
        vec![(admin.id, perms(&[Permission::Read, Permission::Write]))]
    );
    let writer = connection(&i, perms(&[Permission::Write]), 22);
    tx.insert_connection(&writer, [1; 32]).await.expect("connection");
    let gone = tx.narrow_connections(i.id, perms(&[Permission::Read]), at(46)).await.expect("narrow");
    let mut seen: Vec<_> = gone.iter().map(|c| (c.id, c.permissions, c.revoked_at)).collect();
    seen.sort_by_key(|(id, _, _)| *id);
    assert_eq!(
        seen,
        vec![(admin.id, perms(&[Permission::Read]), None), (writer.id, perms(&[Permission::Write]), Some(at(46))),],
        "admin narrows to read; write has nothing left and is revoked"
    );
    let revoked = tx.revoke_connections(i.id, Some(admin.id), at(60)).await.expect("revoke");
    assert_eq!(revoked.iter().map(|c| (c.id, c.revoked_at)).collect::<Vec<_>>(), vec![(admin.id, Some(at(60)))]);
    tx.commit().await.expect("commit");
    assert_eq!(store.find_oauth_token([10; 32]).await.expect("find"), None, "its tokens went with it");
    let page = store.list_connections(i.id, PageRequest::new(1, 10)).await.expect("list");
    assert_eq!(
        page.items.iter().map(|c| (c.id, c.revoked_at.is_some())).collect::<Vec<_>>(),
        vec![(writer.id, true), (reader.id, false), (admin.id, true)]
    );
    store.touch_connections(&[(reader.id, at(70))]).await.expect("touch");
    let mut tx = store.begin().await.expect("begin");
    let read = tx.lock_connection(p.id, reader.id).await.expect("lock").expect("found");
    assert_eq!(read.last_used_at, Some(at(70)));
    tx.commit().await.expect("commit");
}

/// Deleting an integration takes its connections and tokens; a deleted project hides
/// its clients and tokens.
pub async fn deleting_an_integration_or_its_project_ends_its_tokens<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let i = integration(acct.id, p.id, 10);
    let j = integration(acct.id, p.id, 11);
    insert(store, &i, None).await;
    insert(store, &j, None).await;
    let by = key_id();
    store.insert_auth_code([1; 32], &code(&i, by)).await.expect("code");
    store.insert_auth_code([2; 32], &code(&j, by)).await.expect("code");
    let ci = connection(&i, perms(&[Permission::Read]), 20);
    let cj = connection(&j, perms(&[Permission::Read]), 20);
    let token = |c: &Connection| OAuthToken {
        kind: TokenKind::Access,
        connection_id: c.id,
        expires_at: at(3_600),
        spent_at: None,
    };
    let mut tx = store.begin().await.expect("begin");
    tx.insert_connection(&ci, [1; 32]).await.expect("connection");
    tx.insert_connection(&cj, [2; 32]).await.expect("connection");
    tx.insert_oauth_token([10; 32], &token(&ci)).await.expect("token");
    tx.insert_oauth_token([20; 32], &token(&cj)).await.expect("token");
    tx.delete_integration(p.id, i.id).await.expect("delete");
    tx.commit().await.expect("commit");
    assert_eq!(store.find_oauth_token([10; 32]).await.expect("find"), None);
    assert_eq!(store.find_client(i.id).await.expect("find"), None);
    assert!(store.find_oauth_token([20; 32]).await.expect("find").is_some());
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, p.id, at(30)).await.expect("delete project");
    tx.commit().await.expect("commit");
    assert_eq!(store.find_oauth_token([20; 32]).await.expect("find"), None, "a deleted project's tokens are gone");
    assert_eq!(store.find_client(j.id).await.expect("find"), None);
    assert_eq!(store.project_account(p.id).await.expect("account"), None);
}

/// The registration policy is absent until set, then read back; expired codes and
/// tokens are purged.
pub async fn the_registration_policy_round_trips_and_expired_secrets_are_purged<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    assert_eq!(store.registration_policy(p.id).await.expect("read"), None);
    let on = RegistrationPolicy { enabled: true, permissions: perms(&[Permission::Read]) };
    store.set_registration_policy(p.id, &on).await.expect("set");
    assert_eq!(store.registration_policy(p.id).await.expect("read"), Some(on));
    let off = RegistrationPolicy { enabled: false, ..on };
    store.set_registration_policy(p.id, &off).await.expect("set");
    assert_eq!(store.registration_policy(p.id).await.expect("read"), Some(off));
    assert_eq!(store.project_account(p.id).await.expect("account"), Some(acct.id));
    let i = integration(acct.id, p.id, 10);
    insert(store, &i, None).await;
    store.insert_auth_code([1; 32], &code(&i, key_id())).await.expect("code");
    let purged = store.purge_oauth(at(60) + Duration::seconds(1)).await.expect("purge");
    assert_eq!(purged, 1);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.use_auth_code([1; 32], at(70)).await.expect("use"), None);
    tx.commit().await.expect("commit");
}
