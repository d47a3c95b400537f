//! The JSON text the store keeps in its columns: directory records, batch bodies and
//! lists of ids, written and read back.

use serde::Serialize;

use crate::error::StoreError;

/// A record as the JSON text a column holds.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialise")
}

/// The entries of a batch body.
pub(crate) fn batch<T: serde::de::DeserializeOwned>(body: &str) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        StoreError::Damaged(format!(
            "a batch of decisions or deliveries does not parse: {e}"
        ))
    })
}

/// A JSON list of ids, as a column holds it.
pub(crate) fn ids(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Damaged(format!("a list of ids does not parse: {e}")))
}
