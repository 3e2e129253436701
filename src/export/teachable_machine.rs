//! Export as a Teachable Machine image model: one zip holding `model.json` and `weights.bin` (a
//! TF.js layers model, see [`layers`](super::layers)) and `metadata.json`, as Teachable Machine
//! writes them, so its library (`@teachablemachine/image`), ml5 and every TM snippet load it
//! unchanged. Only a head TF.js layers can express goes out: a linear or MLP head on the pooled
//! embedding, with no fine-tuned blocks (the app trains one for the export on the same rows,
//! see `training::export_head`).

use std::collections::BTreeMap;

use serde_json::json;

use super::layers::{self, LayersError};
use crate::backbone::Backbone;
use crate::classifier::{Classifier, Head};
use crate::project::zip;

/// The Teachable Machine version whose file layout the export follows.
pub const TM_VERSION: &str = "2.4.10";
/// The library and version that load it (its `metadata.json` names them).
pub const TM_PACKAGE: (&str, &str) = ("@teachablemachine/image", "0.8.5");

/// Why a classifier cannot be exported for Teachable Machine.
#[derive(Debug, Clone, PartialEq)]
pub enum TeachableMachineError {
    /// Its head reads more than the pooled embedding, or is a KNN, or fine-tunes blocks.
    Head(String),
    /// The backbone has no layers export, or reading weights failed.
    Layers(LayersError),
}

impl std::fmt::Display for TeachableMachineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Head(why) => write!(f, "this model cannot be a Teachable Machine model: {why}"),
            Self::Layers(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TeachableMachineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Layers(e) => Some(e),
            Self::Head(_) => None,
        }
    }
}

/// `classifier` on `backbone` as a Teachable Machine model zip named `name`, stamped with
/// `time_stamp` (ISO 8601, as TM writes it).
pub async fn teachable_machine(
    backbone: &Backbone,
    classifier: &Classifier,
    name: &str,
    time_stamp: &str,
) -> Result<Vec<u8>, TeachableMachineError> {
    let head = match (&classifier.head, &classifier.tail, &classifier.norm) {
        (Head::Trained(head), None, None) => head,
        (Head::Knn(_), ..) => {
            return Err(TeachableMachineError::Head(
                "a KNN head has no layers form".into(),
            ));
        }
        (_, Some(_), _) => {
            return Err(TeachableMachineError::Head(
                "it fine-tunes backbone blocks".into(),
            ));
        }
        (_, _, Some(_)) => {
            return Err(TeachableMachineError::Head(
                "its head reads the spatial map, not the pooled embedding".into(),
            ));
        }
    };
    let (model, weights) = layers::write(backbone, Some(head), name)
        .await
        .map_err(TeachableMachineError::Layers)?;
    let metadata = json!({
        "tfjsVersion": "4.22.0",
        "tmVersion": TM_VERSION,
        "packageVersion": TM_PACKAGE.1,
        "packageName": TM_PACKAGE.0,
        "timeStamp": time_stamp,
        "userMetadata": { "generatedBy": concat!("magpie ", env!("CARGO_PKG_VERSION")), "backbone": backbone.kind.id() },
        "modelName": name,
        "labels": classifier.info.labels,
        "imageSize": backbone.kind.input_size(),
    });
    let files = BTreeMap::from([
        ("model.json".to_string(), model),
        ("weights.bin".to_string(), weights),
        (
            "metadata.json".to_string(),
            serde_json::to_vec(&metadata).expect("JSON serializes"),
        ),
    ]);
    Ok(zip::write(&files))
}

/// `seconds` since 1970 as ISO 8601 in UTC with milliseconds (`2026-12-07T09:00:00.000Z`).
pub fn iso8601(seconds: u64, millis: u32) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_stamps_are_iso_8601_in_utc() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_564_756_905, 56), "2019-08-02T14:41:45.056Z");
        assert_eq!(iso8601(951_825_600, 999), "2000-02-29T12:00:00.999Z");
    }
}
