//! Re-sealing webhook secrets: walking every webhook's stored secrets and replacing
//! them only when nothing changed them meanwhile.

use tengine_domain::delivery::PreviousWebhookSecret;
use tengine_domain::secret_key::SealedSecret;
use tengine_ports::{Store, StoredWebhookSecrets};

use crate::fixtures::{account, at, new_webhook, project, store_webhook};

fn sealed(s: &str) -> SealedSecret {
    SealedSecret::from_stored(s.to_owned())
}

/// Stored secrets of every account come in id order, a page at a time; a replacement
/// lands only over the exact secrets it was computed from.
pub async fn stored_webhook_secrets_are_walked_in_id_order_and_replaced_only_if_unchanged<S: Store>(store: &S) {
    let mut made = Vec::new();
    for n in 0..3 {
        let acct = account(store).await;
        let p = project(store, acct.id, at(0)).await;
        let mut w = new_webhook(acct.id, p.id, &["*"], at(n));
        w.secret = sealed(&format!("sealed-current-{n}"));
        if n == 1 {
            w.previous_secret = Some(PreviousWebhookSecret { secret: sealed("sealed-previous"), expires_at: at(99) });
        }
        store_webhook(store, &w).await;
        made.push(w);
    }
    made.sort_by_key(|w| w.id.to_string());
    let first = store.webhook_secrets_after(None, 2).await.expect("first page");
    let rest = store.webhook_secrets_after(Some(first[1].id), 2).await.expect("second page");
    let all: Vec<StoredWebhookSecrets> = first.into_iter().chain(rest).collect();
    let expected: Vec<StoredWebhookSecrets> = made
        .iter()
        .map(|w| StoredWebhookSecrets {
            id: w.id,
            secret: w.secret.clone(),
            previous: w.previous_secret.as_ref().map(|p| p.secret.clone()),
        })
        .collect();
    assert_eq!(all, expected);

    let with_previous = made.iter().find(|w| w.previous_secret.is_some()).expect("the rotated one");
    let old = expected.iter().find(|s| s.id == with_previous.id).expect("listed").clone();
    let new = StoredWebhookSecrets { id: old.id, secret: sealed("resealed"), previous: Some(sealed("resealed-prev")) };
    assert!(store.replace_webhook_secrets(&old, &new).await.expect("replace"));
    // A second replacement computed from the old secrets finds them changed.
    assert!(!store.replace_webhook_secrets(&old, &new).await.expect("replace again"));
    let got = store.get_webhook(with_previous.project_id, old.id).await.expect("get").expect("there");
    assert_eq!(got.secret, sealed("resealed"));
    let previous = got.previous_secret.expect("kept");
    assert_eq!((previous.secret, previous.expires_at), (sealed("resealed-prev"), at(99)));

    let plain = expected.iter().find(|s| s.previous.is_none()).expect("one without").clone();
    let stale_previous = StoredWebhookSecrets { previous: Some(sealed("never-there")), ..plain.clone() };
    assert!(!store.replace_webhook_secrets(&stale_previous, &new).await.expect("replace"));
    let new = StoredWebhookSecrets { id: plain.id, secret: sealed("resealed-2"), previous: None };
    assert!(store.replace_webhook_secrets(&plain, &new).await.expect("replace"));
}
