//! Loads the server keys (`TENGINE_SECRET_KEY`, `_FILE`, `TENGINE_SECRET_KEYS_PREVIOUS`),
//! generating one into the data directory for SQLite, and keeps that directory private.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use rand::rngs::OsRng;
use rand::RngCore;
use tengine_domain::secret_key::{Keyring, ServerKey};

use crate::config::StoreConfig;

/// The generated key's file name in the data directory.
pub const KEY_FILE: &str = "secret.key";

const HOW_TO_MAKE: &str = "make one with `openssl rand -base64 32`";

/// The key ring `config` names.
///
/// # Errors
/// When a key is malformed, both the key and its file are set, or PostgreSQL is used
/// without a key; when the generated key cannot be read or written.
pub fn load(config: &StoreConfig) -> anyhow::Result<Keyring> {
    let inline = config.secret_key.as_deref().filter(|k| !k.trim().is_empty());
    let file = config.secret_key_file.as_deref().filter(|p| !p.as_os_str().is_empty());
    let current = match (inline, file) {
        (Some(_), Some(_)) => anyhow::bail!("set TENGINE_SECRET_KEY or TENGINE_SECRET_KEY_FILE, not both"),
        (Some(k), None) => k.parse().context("TENGINE_SECRET_KEY is invalid")?,
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("could not read TENGINE_SECRET_KEY_FILE {}", path.display()))?
            .parse()
            .with_context(|| format!("TENGINE_SECRET_KEY_FILE {} is invalid", path.display()))?,
        (None, None) if config.is_postgres() => anyhow::bail!(
            "PostgreSQL needs TENGINE_SECRET_KEY (or TENGINE_SECRET_KEY_FILE), the same on every instance: \
             32 random bytes in standard base64 that seal webhook secrets at rest; {HOW_TO_MAKE}"
        ),
        (None, None) => generated(&config.data_dir)?,
    };
    let previous = config
        .secret_keys_previous
        .iter()
        .filter(|k| !k.trim().is_empty())
        .enumerate()
        .map(|(i, k)| {
            k.parse::<ServerKey>().with_context(|| format!("TENGINE_SECRET_KEYS_PREVIOUS entry {} is invalid", i + 1))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Keyring::new(current, previous))
}

/// The key in `dir/secret.key`, made (0600) on first use.
fn generated(dir: &Path) -> anyhow::Result<ServerKey> {
    private_dir(dir)?;
    let path = dir.join(KEY_FILE);
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let fresh = ServerKey::from_bytes(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(format!("{}\n", fresh.to_base64()).as_bytes())
                .and_then(|()| f.sync_all())
                .with_context(|| format!("could not write the secret key {}", path.display()))?;
            tracing::info!(path = %path.display(), key_id = %fresh.id(), "generated the server secret key; back it up apart from the database");
            Ok(fresh)
        }
        // Made by an earlier start (or a concurrent one): never overwrite it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(&path)
            .with_context(|| format!("could not read the secret key {}", path.display()))?
            .parse()
            .with_context(|| format!("the secret key {} is invalid", path.display())),
        Err(e) => Err(e).with_context(|| format!("could not create the secret key {}", path.display())),
    }
}

/// Creates `dir` (and missing parents) readable by the owner only, or tightens an
/// existing one that others can read: it holds the database and the key.
///
/// # Errors
/// When the directory cannot be created or its mode changed.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("could not create the data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("could not restrict the data directory {} to its owner", dir.display()))?;
            tracing::warn!(path = %dir.display(), old_mode = format!("{mode:o}"), "restricted the data directory to mode 700");
        }
    }
    Ok(())
}
