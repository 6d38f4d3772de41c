//! Secrets at rest: each value is sealed with XChaCha20-Poly1305 under the node's master key,
//! with the tenant and secret name as associated data so a ciphertext cannot be moved to
//! another row. Clear values live only in [`SecretValue`], which never prints itself.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};

use crate::{SealedSecret, StoreError, TenantId};

/// The environment variable holding the master key (64 hex characters).
pub const MASTER_KEY_ENV: &str = "FERRY_MASTER_KEY";

/// The key that seals every secret of a node.
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Where the master key came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
    CreatedFile(PathBuf),
}

impl MasterKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let cipher = XChaCha20Poly1305::new(bytes.into());
        // The key id is a MAC of a fixed message: it identifies the key without revealing it.
        let tag =
            cipher.encrypt(&XNonce::default(), Payload { msg: b"", aad: b"ferry master key id" }).unwrap_or_default();
        let id = hex::encode(&tag[..tag.len().min(4)]);
        MasterKey { cipher, id }
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str, origin: &str) -> Result<Self, StoreError> {
        let bad =
            |reason: String| StoreError::Secret { name: "master key".into(), reason: format!("{origin}: {reason}") };
        let bytes = hex::decode(text.trim()).map_err(|e| bad(format!("not hexadecimal ({e})")))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| bad(format!("expected 32 bytes (64 hex characters), got {} bytes", b.len())))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The key from `FERRY_MASTER_KEY` if set, else from `file`, which is created with mode
    /// 0600 and a fresh random key on first run.
    pub fn load(file: &Path) -> Result<(Self, KeySource), StoreError> {
        if let Ok(v) = std::env::var(MASTER_KEY_ENV) {
            return Ok((Self::from_hex(&v, MASTER_KEY_ENV)?, KeySource::Env));
        }
        let origin = file.display().to_string();
        match std::fs::read_to_string(file) {
            Ok(text) => Ok((Self::from_hex(&text, &origin)?, KeySource::File(file.to_path_buf()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes: [u8; 32] = rand::random();
                write_private(file, hex::encode(bytes).as_bytes()).map_err(|e| StoreError::Secret {
                    name: "master key".into(),
                    reason: format!("cannot create key file {origin}: {e}"),
                })?;
                Ok((Self::from_bytes(&bytes), KeySource::CreatedFile(file.to_path_buf())))
            }
            Err(e) => {
                Err(StoreError::Secret { name: "master key".into(), reason: format!("cannot read {origin}: {e}") })
            }
        }
    }

    /// A short identifier of this key (not secret), stored beside each sealed value.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals a value for a tenant's named secret.
    pub fn seal(&self, tenant: &TenantId, name: &str, value: &SecretValue) -> Result<SealedSecret, StoreError> {
        let nonce_bytes: [u8; 24] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let aad = aad(tenant, name);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, Payload { msg: value.0.as_bytes(), aad: &aad })
            .map_err(|_| StoreError::Secret { name: name.into(), reason: "encryption failed".into() })?;
        Ok(SealedSecret {
            tenant: tenant.clone(),
            name: name.into(),
            key_id: self.id.clone(),
            nonce: nonce_bytes.to_vec(),
            ciphertext,
        })
    }

    /// Opens a sealed value; fails if it was sealed under another key or tampered with.
    pub fn open(&self, sealed: &SealedSecret) -> Result<SecretValue, StoreError> {
        let fail = |reason: String| StoreError::Secret { name: sealed.name.clone(), reason };
        if sealed.key_id != self.id {
            return Err(fail(format!(
                "sealed with master key {}, but this node's master key is {}",
                sealed.key_id, self.id
            )));
        }
        let nonce: [u8; 24] =
            sealed.nonce.as_slice().try_into().map_err(|_| fail("stored nonce has the wrong length".into()))?;
        let clear = self
            .cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: &sealed.ciphertext, aad: &aad(&sealed.tenant, &sealed.name) })
            .map_err(|_| fail("cannot decrypt: the stored value was altered or belongs to another row".into()))?;
        String::from_utf8(clear).map(SecretValue).map_err(|_| fail("decrypted value is not UTF-8".into()))
    }
}

/// How a sealed payload starts; what follows is `<key id>:<hex of nonce and ciphertext>`.
pub const SEALED_PAYLOAD_PREFIX: &str = "ferry-sealed:v1:";

/// Whether a stored payload text is sealed (see [`MasterKey::seal_payload`]).
pub fn is_sealed_payload(stored: &str) -> bool {
    stored.starts_with(SEALED_PAYLOAD_PREFIX)
}

impl MasterKey {
    /// Seals a payload kept for work or replay (inbox events, jobs, dead letters), with the
    /// tenant as associated data so it cannot be moved to another tenant's row. The result is
    /// text, so it fits the same column as a clear payload.
    pub fn seal_payload(&self, tenant: &TenantId, clear: &str) -> Result<String, StoreError> {
        let nonce_bytes: [u8; 24] = rand::random();
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce_bytes), Payload { msg: clear.as_bytes(), aad: &payload_aad(tenant) })
            .map_err(|_| StoreError::Secret { name: "payload".into(), reason: "encryption failed".into() })?;
        let mut out =
            String::with_capacity(SEALED_PAYLOAD_PREFIX.len() + self.id.len() + 1 + 2 * (24 + ciphertext.len()));
        out.push_str(SEALED_PAYLOAD_PREFIX);
        out.push_str(&self.id);
        out.push(':');
        out.push_str(&hex::encode(nonce_bytes));
        out.push_str(&hex::encode(&ciphertext));
        Ok(out)
    }

    /// Opens a stored payload: a clear one (written before payloads were sealed) is returned
    /// as it is; a sealed one is decrypted, or an error says why it cannot be.
    pub fn open_payload(&self, tenant: &TenantId, stored: &str) -> Result<String, StoreError> {
        let Some(rest) = stored.strip_prefix(SEALED_PAYLOAD_PREFIX) else { return Ok(stored.to_string()) };
        let fail = |reason: String| StoreError::Secret { name: "payload".into(), reason };
        let (key_id, body) = rest.split_once(':').ok_or_else(|| fail("malformed sealed payload".into()))?;
        if key_id != self.id {
            return Err(fail(format!("sealed with master key {key_id}, but this node's master key is {}", self.id)));
        }
        let bytes = hex::decode(body).map_err(|_| fail("malformed sealed payload".into()))?;
        if bytes.len() < 24 {
            return Err(fail("malformed sealed payload".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| fail("malformed sealed payload".into()))?;
        let clear =
            self.cipher.decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: &payload_aad(tenant) }).map_err(
                |_| fail("cannot decrypt: the stored payload was altered or belongs to another tenant".into()),
            )?;
        String::from_utf8(clear).map_err(|_| fail("decrypted payload is not UTF-8".into()))
    }
}

fn payload_aad(tenant: &TenantId) -> Vec<u8> {
    let mut v = b"ferry payload\0".to_vec();
    v.extend_from_slice(tenant.as_ref().as_bytes());
    v
}

fn aad(tenant: &TenantId, name: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(tenant.as_ref().len() + name.len() + 1);
    v.extend_from_slice(tenant.as_ref().as_bytes());
    v.push(0);
    v.extend_from_slice(name.as_bytes());
    v
}

/// Creates a new file readable only by its owner.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private_dir(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// A secret's clear value. It never appears in Debug or Display output.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The clear value, for the one place that must send it (an auth header, a token request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
