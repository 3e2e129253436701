//! Where a page finds a backbone's served record: the JS API's `weightsUrl`, `weightsUrls` and
//! `weightsBase` options, in that order. The package's client passes `weightsUrls` (each URL a
//! bundler gave a record) or `weightsBase` (a folder set with `configure({ assetsUrl })`).

use std::collections::BTreeMap;

use crate::backbone::BackboneKind;
use crate::weights::{Precision, record};

/// Where the served records are, as the JS API's options say.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ServedRecords {
    /// One record's URL, whatever the backbone (`weightsUrl`).
    pub url: Option<String>,
    /// Each backbone's record URL, by backbone id (`weightsUrls`).
    pub urls: BTreeMap<String, String>,
    /// The folder of the records (`weightsBase`); the page's `www/weights/` when absent.
    pub base: Option<String>,
}

impl ServedRecords {
    /// The URL of `kind`'s record: `url`, else `urls[kind]`, else `<base>/<served file name>`
    /// (see [`Precision::served`]).
    pub fn url(&self, kind: BackboneKind) -> String {
        if let Some(url) = self.url.as_ref().or_else(|| self.urls.get(kind.id())) {
            return url.clone();
        }
        let base = self.base.as_deref().unwrap_or("www/weights/");
        let slash = if base.ends_with('/') { "" } else { "/" };
        let file = record::file_name(kind, Precision::served(kind));
        format!("{base}{slash}{file}")
    }

    /// The message for `kind`'s record when it could not be fetched or read (`reason`, which
    /// names its URL): what failed and what to do about it.
    pub fn unreachable(&self, kind: BackboneKind, reason: &str) -> String {
        let what = kind.display_name();
        let fix = if self.url.is_some() {
            "check the weightsUrl option".to_string()
        } else {
            format!(
                "serve the package's www/weights/{} there, or point configure({{ assetsUrl }}) at the folder that holds the package's files",
                record::file_name(kind, Precision::served(kind))
            )
        };
        format!("cannot load the {what} weights: {reason}; {fix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_prefers_the_record_then_the_backbone_then_the_folder() {
        let kind = BackboneKind::MobilenetV2;
        let mut served = ServedRecords::default();
        assert_eq!(served.url(kind), "www/weights/mobilenet_v2.int8.bpk");
        served.base = Some("https://cdn.example/magpie/www/weights".into());
        assert_eq!(
            served.url(kind),
            "https://cdn.example/magpie/www/weights/mobilenet_v2.int8.bpk"
        );
        served.urls.insert(
            "mobilenet_v2".into(),
            "/assets/mobilenet_v2.int8-Bx1.bpk".into(),
        );
        assert_eq!(served.url(kind), "/assets/mobilenet_v2.int8-Bx1.bpk");
        // Another backbone is not in the map: the folder.
        assert_eq!(
            served.url(BackboneKind::MobilenetV1025),
            "https://cdn.example/magpie/www/weights/mobilenet_v1_025.f16.bpk"
        );
        served.url = Some("/mine.bpk".into());
        assert_eq!(served.url(kind), "/mine.bpk");
    }

    #[test]
    fn unreachable_names_the_url_the_reason_and_the_fix() {
        let served = ServedRecords::default();
        let message = served.unreachable(
            BackboneKind::EfficientnetLite0,
            "cannot fetch https://x/w.bpk: HTTP 404",
        );
        assert!(message.contains("EfficientNet-Lite0"), "{message}");
        assert!(message.contains("https://x/w.bpk: HTTP 404;"), "{message}");
        assert!(message.contains("efficientnet_lite0.int8.bpk"), "{message}");
        assert!(message.contains("assetsUrl"), "{message}");
        let given = ServedRecords {
            url: Some("https://x/w.bpk".into()),
            ..ServedRecords::default()
        };
        assert!(
            given
                .unreachable(BackboneKind::EfficientnetLite0, "HTTP 404")
                .ends_with("check the weightsUrl option")
        );
    }
}
