//! What every webhook receiver checks before anything is stored: the caller's key (compared in
//! constant time) and the identifiers an event brings into the inbox's dedupe key.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Longest identifier taken from an event, in bytes. Real ones are UUIDs/GUIDs (36 bytes) or
/// short names; the inbox indexes them in its dedupe key, and PostgreSQL refuses an index row
/// over about 2.7 KB, so a longer one would fail the store on every redelivery (503 forever).
pub const MAX_EVENT_ID_BYTES: usize = 256;

/// Whether a presented key equals the expected one. Both are hashed first, so the comparison
/// (`subtle`) runs over two 32-byte digests and reveals neither how much matched nor the
/// expected key's length.
pub fn keys_match(presented: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(presented).ct_eq(&Sha256::digest(expected)).into()
}

/// Refuses an identifier the store could not index or keep: longer than
/// [`MAX_EVENT_ID_BYTES`], or holding a control character (PostgreSQL text cannot hold
/// U+0000 at all). The message names `field` and the problem, never the value.
pub fn check_event_id(field: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_EVENT_ID_BYTES {
        return Err(format!("{field} is {} bytes long; at most {MAX_EVENT_ID_BYTES} are accepted", value.len()));
    }
    if let Some((at, c)) = value.char_indices().find(|(_, c)| c.is_control()) {
        return Err(format!("{field} contains the control character U+{:04X} at byte {at}", u32::from(c)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_only_when_equal_whatever_the_lengths() {
        assert!(keys_match(b"secret-key", b"secret-key"));
        assert!(!keys_match(b"secret-kez", b"secret-key"));
        assert!(!keys_match(b"secret", b"secret-key"), "a prefix is not the key");
        assert!(!keys_match(b"secret-key-and-more", b"secret-key"));
        assert!(!keys_match(b"", b"secret-key"));
    }

    #[test]
    fn ids_the_store_cannot_index_are_refused_naming_the_field() {
        assert_eq!(check_event_id("OperationId", "d0e9e693-c3ad-4373-979f-ed4ec98dd746"), Ok(()));
        let nul = check_event_id("NotificationId", "abc\u{0}def").unwrap_err();
        assert!(nul.contains("NotificationId") && nul.contains("U+0000") && nul.contains("byte 3"), "{nul}");
        let long = check_event_id("NotificationId", &"a".repeat(200 * 1024)).unwrap_err();
        assert!(long.contains("NotificationId") && long.contains("204800 bytes"), "{long}");
        assert_eq!(check_event_id("x", &"é".repeat(MAX_EVENT_ID_BYTES / 2)), Ok(()));
    }
}
