//! A site's settings as values that storage and the services share: how its widget looks and
//! how its visitors are monitored.

use serde::{Deserialize, Serialize};

/// How a site's widget looks, and the notice it links to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SiteLook {
    /// `bottom-right` or `bottom-left`.
    pub position: String,
    /// `#rrggbb`.
    pub color: String,
    /// The site's privacy notice (http/https), or empty.
    pub privacy_url: String,
    /// `en` or `de`: the widget's language when the page does not say.
    pub lang: String,
}

/// How a site's visitors are monitored (see `docs/widget.md`, "Tracking modes").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SiteTracking {
    /// `off`, `anonymous` or `consented`.
    #[serde(rename = "tracking")]
    pub mode: String,
    /// Query parameters removed from reported URLs; `*` removes all but `utm_*`.
    pub strip: Vec<String>,
}

impl Default for SiteTracking {
    fn default() -> Self {
        SiteTracking {
            mode: "anonymous".into(),
            strip: vec!["*".into()],
        }
    }
}

impl Default for SiteLook {
    fn default() -> Self {
        SiteLook {
            position: "bottom-right".into(),
            color: "#0a5bd3".into(),
            privacy_url: String::new(),
            lang: "en".into(),
        }
    }
}
