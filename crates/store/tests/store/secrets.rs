//! Secrets are sealed at rest and open only with the right key, tenant and name.

use ferry_store::secrets::{MasterKey, SecretValue};
use ferry_store::{Store, StoreError};

use super::common::tenant;

async fn secrets_are_sealed_at_rest<S: Store>(store: S) {
    let key = MasterKey::from_bytes(&[7u8; 32]);
    let clear = SecretValue::new("Atzr|refresh-token-very-secret");
    let sealed = key.seal(&tenant(), "amazon/lwa", &clear).unwrap();
    assert!(
        !sealed.ciphertext.windows(b"very-secret".len()).any(|w| w == b"very-secret"),
        "ciphertext must not contain the clear value"
    );
    store.put_secret(&sealed, "cli:ops").await.unwrap();
    let loaded = store.secret(&tenant(), "amazon/lwa").await.unwrap().unwrap();
    assert_eq!(key.open(&loaded).unwrap(), clear);

    let names = store.secret_names(&tenant()).await.unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].name, "amazon/lwa");
    assert!(!format!("{names:?}").contains("secret-very"), "listings never carry values");
    assert!(!format!("{loaded:?}").contains("very-secret"));
    assert!(!format!("{clear:?} {clear}").contains("very-secret"));

    let other_key = MasterKey::from_bytes(&[8u8; 32]);
    let err = other_key.open(&loaded).unwrap_err();
    assert!(matches!(err, StoreError::Secret { .. }), "{err}");
    assert!(err.to_string().contains(key.id()), "names the key it was sealed with: {err}");

    // Moving a ciphertext to another secret's row is detected.
    let mut moved = loaded.clone();
    moved.name = "dataverse/client-secret".into();
    assert!(key.open(&moved).is_err());
}

crate::both_backends!(secrets_are_sealed_at_rest);

#[test]
fn master_key_file_is_created_private_and_reused() {
    let dir = ferry_store::testing::TempDir::new("key").unwrap();
    let path = dir.path().join("keys").join("master.key");
    // SAFETY-free: the env var is read only; tests never set it.
    if std::env::var(ferry_store::secrets::MASTER_KEY_ENV).is_ok() {
        return;
    }
    let (k1, src1) = MasterKey::load(&path).unwrap();
    assert!(matches!(src1, ferry_store::secrets::KeySource::CreatedFile(_)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "key file must be private");
    }
    let (k2, src2) = MasterKey::load(&path).unwrap();
    assert!(matches!(src2, ferry_store::secrets::KeySource::File(_)));
    assert_eq!(k1.id(), k2.id(), "the same key is read back");
    std::fs::write(&path, "not hex").unwrap();
    let err = MasterKey::load(&path).unwrap_err().to_string();
    assert!(err.contains("master.key") && err.contains("hexadecimal"), "{err}");
}
