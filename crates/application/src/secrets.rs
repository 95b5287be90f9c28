//! Re-sealing stored webhook secrets under the current server key: plaintext ones from
//! databases older than encryption at rest (at every start), and those sealed under a
//! previous key (`tengine secrets rotate`, which also re-seals tool secrets).

use tengine_domain::secret_key::SealedSecret;
use tengine_domain::{ToolId, WebhookId};
use tengine_ports::StoredWebhookSecrets;

use crate::{AppError, Tengine};

/// Webhooks read per round.
const PAGE: u32 = 200;

/// Which stored secrets to seal again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reseal {
    /// Only plaintext ones (what every start does).
    Plaintext,
    /// Every one not sealed under the current key (a key rotation).
    Stale,
}

/// What a re-sealing pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Webhooks whose secrets were sealed again under the current key.
    pub resealed: u64,
    /// Webhooks left as they were (already current, or not asked for).
    pub unchanged: u64,
    /// Webhooks changed by someone else meanwhile (run again).
    pub raced: u64,
    /// Webhooks whose secrets no configured key opens.
    pub unreadable: Vec<WebhookId>,
    /// Tools whose secrets no configured key opens.
    pub unreadable_tools: Vec<ToolId>,
}

impl ResealReport {
    /// Whether every stored secret is now sealed under the current key.
    pub fn complete(&self) -> bool {
        self.raced == 0 && self.unreadable.is_empty() && self.unreadable_tools.is_empty()
    }

    /// Adds another pass's counts to this one.
    pub fn absorb(&mut self, other: ResealReport) {
        self.resealed += other.resealed;
        self.unchanged += other.unchanged;
        self.raced += other.raced;
        self.unreadable.extend(other.unreadable);
        self.unreadable_tools.extend(other.unreadable_tools);
    }
}

impl Tengine {
    /// Seals `which` stored webhook secrets again under the current key. A webhook
    /// changed meanwhile keeps its change (the replacement is conditional).
    ///
    /// # Errors
    /// `Store` when the store cannot be reached.
    pub async fn reseal_webhook_secrets(&self, which: Reseal) -> Result<ResealReport, AppError> {
        let ring = &self.deps.keyring;
        let wanted = |s: &SealedSecret| match which {
            Reseal::Plaintext => s.key_id().is_none(),
            Reseal::Stale => ring.is_stale(s),
        };
        let mut report = ResealReport::default();
        let mut after = None;
        loop {
            let page = self.deps.store.webhook_secrets_after(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for old in page {
                if !wanted(&old.secret) && !old.previous.as_ref().is_some_and(wanted) {
                    report.unchanged += 1;
                    continue;
                }
                let reseal =
                    |s: &SealedSecret| ring.open(old.id, s).map(|p| ring.seal(old.id, &p, self.deps.secrets.nonce()));
                let new = match (reseal(&old.secret), old.previous.as_ref().map(reseal).transpose()) {
                    (Ok(secret), Ok(previous)) => StoredWebhookSecrets { id: old.id, secret, previous },
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::error!(webhook_id = %old.id, error = %e, "cannot open a stored webhook secret");
                        report.unreadable.push(old.id);
                        continue;
                    }
                };
                if self.deps.store.replace_webhook_secrets(&old, &new).await? {
                    report.resealed += 1;
                } else {
                    report.raced += 1;
                }
            }
        }
        Ok(report)
    }
}

impl Tengine {
    /// Seals every stored tool secret that is not under the current key again (tools
    /// never stored plaintext secrets, so only a key rotation has work here). A tool
    /// changed meanwhile keeps its change.
    ///
    /// # Errors
    /// `Store` when the store cannot be reached.
    pub async fn reseal_tool_secrets(&self) -> Result<ResealReport, AppError> {
        let ring = &self.deps.keyring;
        let mut report = ResealReport::default();
        let mut after = None;
        loop {
            let page = self.deps.store.tool_secrets_after(after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            for (id, old) in page {
                if !ring.is_stale(&old) {
                    report.unchanged += 1;
                    continue;
                }
                let new = match ring.open_tool_secret(id, &old) {
                    Ok(plain) => ring.seal_tool_secret(id, &plain, self.deps.secrets.nonce()),
                    Err(e) => {
                        tracing::error!(tool_id = %id, error = %e, "cannot open a stored tool secret");
                        report.unreadable_tools.push(id);
                        continue;
                    }
                };
                if self.deps.store.replace_tool_secret(id, &old, &new).await? {
                    report.resealed += 1;
                } else {
                    report.raced += 1;
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use tengine_domain::secret_key::{Keyring, ServerKey};
    use uuid::Uuid;

    fn id(n: u128) -> WebhookId {
        WebhookId::from_uuid(Uuid::from_u128(n))
    }

    fn stored(n: u128, secret: SealedSecret) -> StoredWebhookSecrets {
        StoredWebhookSecrets { id: id(n), secret, previous: None }
    }

    #[tokio::test]
    async fn rotation_reseals_old_and_plaintext_secrets_and_reports_what_it_cannot_open() {
        let old = Keyring::new(ServerKey::from_bytes([1; 32]), vec![]);
        let current = test_keyring();
        let plain: tengine_domain::webhook::WebhookSecret = "whsec_plain-secret".parse().unwrap();
        let rows = vec![
            stored(1, old.seal(id(1), &plain, [1; 24])),
            stored(2, SealedSecret::from_stored(plain.expose_secret().to_owned())),
            stored(3, current.seal(id(3), &plain, [1; 24])),
            stored(4, Keyring::new(ServerKey::from_bytes([9; 32]), vec![]).seal(id(4), &plain, [1; 24])),
        ];
        let tengine = harness_with_keyring(
            Keyring::new(ServerKey::from_bytes([2; 32]), vec![ServerKey::from_bytes([1; 32])]),
            move |store| {
                let mut pages = vec![rows, vec![]].into_iter();
                store
                    .expect_webhook_secrets_after()
                    .times(2)
                    .returning(move |_, _| Ok(pages.next().unwrap_or_default()));
                store
                    .expect_replace_webhook_secrets()
                    .times(2)
                    .withf(|old, new| {
                        let ring = test_keyring();
                        !ring.is_stale(&new.secret)
                            && ring.open(old.id, &new.secret).unwrap().expose_secret() == "whsec_plain-secret"
                    })
                    .returning(|_, _| Ok(true));
            },
        );
        let report = tengine.reseal_webhook_secrets(Reseal::Stale).await.unwrap();
        assert_eq!((report.resealed, report.unchanged, report.raced), (2, 1, 0));
        assert_eq!(report.unreadable, vec![id(4)]);
        assert!(!report.complete());
    }

    #[tokio::test]
    async fn rotation_reseals_tool_secrets_sealed_under_an_old_key() {
        let tool = |n: u128| ToolId::from_uuid(Uuid::from_u128(n));
        let old = Keyring::new(ServerKey::from_bytes([1; 32]), vec![]);
        let secret: tengine_domain::tool::ToolSecret = "tool-secret-0123456789".parse().unwrap();
        let rows = vec![
            (tool(1), old.seal_tool_secret(tool(1), &secret, [1; 24])),
            (tool(2), test_keyring().seal_tool_secret(tool(2), &secret, [1; 24])),
            (tool(3), Keyring::new(ServerKey::from_bytes([9; 32]), vec![]).seal_tool_secret(tool(3), &secret, [1; 24])),
        ];
        let tengine = harness_with_keyring(
            Keyring::new(ServerKey::from_bytes([2; 32]), vec![ServerKey::from_bytes([1; 32])]),
            move |store| {
                let mut pages = vec![rows, vec![]].into_iter();
                store.expect_tool_secrets_after().times(2).returning(move |_, _| Ok(pages.next().unwrap_or_default()));
                store
                    .expect_replace_tool_secret()
                    .times(1)
                    .withf(move |id, _, new| {
                        let ring = test_keyring();
                        *id == tool(1)
                            && !ring.is_stale(new)
                            && ring.open_tool_secret(*id, new).unwrap().expose_secret() == "tool-secret-0123456789"
                    })
                    .returning(|_, _, _| Ok(true));
            },
        );
        let report = tengine.reseal_tool_secrets().await.unwrap();
        assert_eq!((report.resealed, report.unchanged, report.raced), (1, 1, 0));
        assert_eq!(report.unreadable_tools, vec![tool(3)]);
        assert!(!report.complete());
    }

    #[tokio::test]
    async fn a_start_reseals_only_plaintext_secrets() {
        let old = Keyring::new(ServerKey::from_bytes([1; 32]), vec![]);
        let plain: tengine_domain::webhook::WebhookSecret = "whsec_plain-secret".parse().unwrap();
        let rows = vec![
            stored(1, old.seal(id(1), &plain, [1; 24])),
            StoredWebhookSecrets {
                previous: Some(SealedSecret::from_stored(plain.expose_secret().to_owned())),
                ..stored(2, old.seal(id(2), &plain, [1; 24]))
            },
        ];
        let tengine = harness_with_keyring(
            Keyring::new(ServerKey::from_bytes([2; 32]), vec![ServerKey::from_bytes([1; 32])]),
            move |store| {
                let mut pages = vec![rows, vec![]].into_iter();
                store.expect_webhook_secrets_after().returning(move |_, _| Ok(pages.next().unwrap_or_default()));
                store
                    .expect_replace_webhook_secrets()
                    .times(1)
                    .withf(|old, _| old.id == id(2))
                    .returning(|_, _| Ok(false));
            },
        );
        let report = tengine.reseal_webhook_secrets(Reseal::Plaintext).await.unwrap();
        assert_eq!((report.resealed, report.unchanged, report.raced), (0, 1, 1));
    }
}
