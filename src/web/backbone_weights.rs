//! A backbone's weights in the page: downloaded from where they are served, checked, and loaded
//! only when the page has the memory.

use burn::tensor::Device;

use super::error::EngineError;
use super::fetch;
use crate::backbone::BackboneKind;
use crate::weights::served::ServedRecords;
use crate::weights::{Precision, PretrainedBackbone, record};

/// Downloads `kind`'s served record from where `served` says: its URL and bytes, or a message
/// naming the URL that failed and what to do (a missing file, or a page served in its place).
pub async fn fetch_weights(
    kind: BackboneKind,
    served: &ServedRecords,
) -> Result<(String, Vec<u8>), EngineError> {
    let url = served.url(kind);
    let bytes = fetch::bytes(&url)
        .await
        .map_err(|e| EngineError::invalid(served.unreachable(kind, &e)))?;
    if let Err(e) = record::info(&bytes) {
        let reason = format!("{url} is not a weight record ({e})");
        return Err(EngineError::invalid(served.unreachable(kind, &reason)));
    }
    Ok((url, bytes))
}

/// Parses a downloaded weight record, checking it holds `kind` and that the page has the
/// memory to load it.
pub fn parse_backbone(
    kind: BackboneKind,
    url: &str,
    bytes: Vec<u8>,
    device: &Device,
) -> Result<PretrainedBackbone, EngineError> {
    reserve(&bytes, kind)?;
    let model =
        record::load(bytes, device).map_err(|e| EngineError::invalid(format!("{url}: {e}")))?;
    if model.info.backbone != kind {
        return Err(EngineError::invalid(format!(
            "{url} holds {}, not {}",
            model.info.backbone, kind
        )));
    }
    Ok(model)
}

/// Refuses a record the page cannot hold: reserves, then frees, about the memory loading it
/// takes (its f32 parameters twice over), so running out is a message, not an aborted instance.
fn reserve(bytes: &[u8], kind: BackboneKind) -> Result<(), EngineError> {
    let widen = match record::info(bytes).map(|i| i.precision) {
        Ok(Precision::F16) => 2,
        Ok(Precision::Int8) => 4,
        _ => 1,
    };
    let needed = bytes.len().saturating_mul(widen * 2);
    Vec::<u8>::new().try_reserve_exact(needed).map_err(|_| {
        EngineError::invalid(format!(
            "not enough memory for {}: loading it needs about {} MB more than this page can get (close other tabs, or pick a smaller backbone)",
            kind.display_name(),
            needed >> 20
        ))
    })
}
