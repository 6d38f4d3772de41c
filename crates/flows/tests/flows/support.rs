//! Shared set-up: a folder of flow files made from the shipped ones, and connections.

use std::path::{Path, PathBuf};

use ferry_flows::ConnectionConfig;
use serde_json::json;

/// The repository's shipped flow files.
pub fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub const F1: &str = "amazon-orders-to-crm.yaml";
pub const F2: &str = "crm-orders-to-fba.yaml";

/// A temporary folder removed on drop.
pub struct Folder(pub PathBuf);

impl Folder {
    pub fn new(files: &[(&str, String)]) -> Folder {
        let dir = std::env::temp_dir().join(format!("ferry-flows-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Folder(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A connection of `system` named `id`.
pub fn connection(id: &str, system: &str, endpoint: &str) -> ConnectionConfig {
    let options = match system {
        "amazon" => json!({ "marketplace_ids": ["ATVPDKIKX0DER"] }),
        "dataverse" => json!({ "client_id": "app", "tenant": "contoso" }),
        _ => json!({}),
    };
    ConnectionConfig {
        id: id.to_string().try_into().unwrap(),
        system: system.into(),
        endpoint: endpoint.into(),
        credentials: None,
        limits: json!({}),
        options,
    }
}

/// The usual pair: `amazon` and `crm`.
pub fn pair() -> Vec<ConnectionConfig> {
    vec![connection("amazon", "amazon", "http://127.0.0.1:9"), connection("crm", "dataverse", "http://127.0.0.1:9")]
}

/// The line (1-based) of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("`{needle}` not in the file")) + 1
}
