//! Fine-grained rights: named permissions, and roles as sets of them. Admin, Supervisor and
//! Agent are built in (their permissions are defined here, so a new permission reaches them
//! with the upgrade); admins create further roles. Every HTTP endpoint and every socket frame
//! names the permission it needs.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One thing an agent may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// See live visitors and their pages; invite them.
    VisitorsView,
    /// Take and answer chats; see one's own chats and the offline inbox.
    Chat,
    /// See every chat and the whole history, not only one's own.
    ChatsAll,
    /// Watch other agents' live chats, whisper to them and take a chat over.
    ChatsSupervise,
    /// See statistics.
    StatsView,
    /// Manage campaigns and goals.
    CampaignsManage,
    /// Manage agents and roles.
    AgentsManage,
    /// Manage sites: tracking, invitation rules, privacy notices.
    SitesManage,
    /// Manage chat settings, shared canned responses and retention periods.
    SettingsManage,
    /// Handle data-subject requests: find, export, rectify, erase.
    GdprHandle,
    /// Read the audit trail.
    AuditRead,
}

/// Every permission, in the order the dashboard lists them.
pub const ALL: [Permission; 11] = [
    Permission::VisitorsView,
    Permission::Chat,
    Permission::ChatsAll,
    Permission::ChatsSupervise,
    Permission::StatsView,
    Permission::CampaignsManage,
    Permission::AgentsManage,
    Permission::SitesManage,
    Permission::SettingsManage,
    Permission::GdprHandle,
    Permission::AuditRead,
];

impl Permission {
    /// The stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            Permission::VisitorsView => "visitors.view",
            Permission::Chat => "chat",
            Permission::ChatsAll => "chats.all",
            Permission::ChatsSupervise => "chats.supervise",
            Permission::StatsView => "stats.view",
            Permission::CampaignsManage => "campaigns.manage",
            Permission::AgentsManage => "agents.manage",
            Permission::SitesManage => "sites.manage",
            Permission::SettingsManage => "settings.manage",
            Permission::GdprHandle => "gdpr.handle",
            Permission::AuditRead => "audit.read",
        }
    }

    /// The permission with this name.
    pub fn parse(name: &str) -> Result<Permission> {
        ALL.into_iter().find(|p| p.name() == name).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown permission {name:?}; known: {}",
                ALL.map(Permission::name).join(", ")
            ))
        })
    }

    /// What a refusal says: "you may not {what}".
    pub fn what(self) -> &'static str {
        match self {
            Permission::VisitorsView => "see live visitors",
            Permission::Chat => "chat",
            Permission::ChatsAll => "see other agents' chats",
            Permission::ChatsSupervise => "supervise other agents' chats",
            Permission::StatsView => "see statistics",
            Permission::CampaignsManage => "manage campaigns and goals",
            Permission::AgentsManage => "manage agents and roles",
            Permission::SitesManage => "manage sites and the widget",
            Permission::SettingsManage => "change settings and retention periods",
            Permission::GdprHandle => "handle data-subject requests",
            Permission::AuditRead => "read the audit trail",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u16);

impl Permissions {
    /// Every permission.
    pub fn all() -> Permissions {
        ALL.into_iter().collect()
    }

    /// Whether `p` is in the set.
    pub fn has(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions of `self` that `other` lacks.
    pub fn beyond(self, other: Permissions) -> Permissions {
        Permissions(self.0 & !other.0)
    }

    /// The permissions in both sets.
    pub fn and(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }

    /// The names, space-separated (the stored form).
    pub fn to_text(self) -> String {
        self.names().join(" ")
    }

    /// The names.
    pub fn names(self) -> Vec<&'static str> {
        ALL.into_iter()
            .filter(|p| self.has(*p))
            .map(Permission::name)
            .collect()
    }

    /// Parses names separated by spaces or commas; unknown names are an error.
    pub fn parse(text: &str) -> Result<Permissions> {
        text.split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(Permission::parse)
            .collect()
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Permissions {
        Permissions(iter.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}

impl Serialize for Permissions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| Permission::parse(n))
            .collect::<Result<Permissions>>()
            .map_err(serde::de::Error::custom)
    }
}

/// Ids of the built-in roles (rows 1 to 3 of `roles`).
pub const ADMIN: i64 = 1;
/// Supervisor.
pub const SUPERVISOR: i64 = 2;
/// Agent.
pub const AGENT: i64 = 3;
/// The operator's support login, opened by the business's grants (see `support_may`).
pub const SUPPORT: i64 = 4;

/// What a support login may ask for: reading settings, agents, sites, statistics and
/// campaigns, never chats, visitors, offline messages, files, exports, the audit trail or the
/// agents' work time (employees' data the business keeps to itself), and never a change
/// (signing out aside). The server checks this before any handler runs, so a
/// role cannot widen it.
pub fn support_may(method: &str, path: &str) -> bool {
    const READS: [&str; 16] = [
        "/login",
        "/app",
        "/api/session",
        "/api/me",
        "/api/settings",
        "/api/agents",
        "/api/roles",
        "/api/departments",
        "/api/sites",
        "/api/stats",
        "/api/stats.csv",
        "/api/campaigns",
        "/api/goals",
        "/api/hours",
        "/api/retention",
        "/api/storage",
    ];
    let under = |p: &str| path == p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/'));
    match method {
        "GET" | "HEAD" => {
            READS.iter().any(|p| under(p))
                && !path.ends_with("/messages")
                && !path.ends_with("/visitor")
                && !path.starts_with("/api/stats/agents")
        }
        "POST" => path == "/logout",
        _ => false,
    }
}

/// The permissions of a built-in role, if `role_id` is one.
pub fn builtin(role_id: i64) -> Option<Permissions> {
    use Permission::*;
    match role_id {
        ADMIN => Some(Permissions::all()),
        SUPERVISOR => Some(
            [
                VisitorsView,
                Chat,
                ChatsAll,
                ChatsSupervise,
                StatsView,
                CampaignsManage,
                AuditRead,
            ]
            .into_iter()
            .collect(),
        ),
        AGENT => Some([VisitorsView, Chat].into_iter().collect()),
        SUPPORT => Some(
            [
                StatsView,
                CampaignsManage,
                AgentsManage,
                SitesManage,
                SettingsManage,
            ]
            .into_iter()
            .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_reads_only_what_holds_no_chat_data() {
        for path in [
            "/app/settings/team",
            "/api/agents",
            "/api/stats",
            "/api/stats.csv",
            "/api/campaigns/3",
            "/api/sites/abc/form",
        ] {
            assert!(support_may("GET", path), "{path}");
        }
        for (method, path) in [
            ("GET", "/api/conversations"),
            ("GET", "/api/conversations/1/messages"),
            ("GET", "/api/offline"),
            ("GET", "/api/files/1"),
            ("GET", "/api/visitors/1"),
            ("GET", "/api/gdpr/export"),
            ("GET", "/api/audit"),
            ("GET", "/api/email"),
            ("GET", "/api/blocks"),
            ("GET", "/ws/agent"),
            ("GET", "/api/sessions"),
            ("GET", "/api/stats/agents"),
            ("GET", "/api/stats/agents.csv"),
            ("GET", "/api/settingsx"),
            ("PUT", "/api/settings"),
            ("POST", "/api/agents/invite"),
            ("DELETE", "/api/sites/abc"),
        ] {
            assert!(!support_may(method, path), "{method} {path}");
        }
        assert!(support_may("POST", "/logout"));
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for p in ALL {
            assert_eq!(Permission::parse(p.name()).unwrap(), p);
        }
        let set = Permissions::parse("chat, stats.view audit.read").unwrap();
        assert_eq!(set.to_text(), "chat stats.view audit.read");
        assert!(set.has(Permission::Chat) && !set.has(Permission::ChatsAll));
        assert!(Permissions::parse("chat root").is_err());
        assert!(Permissions::parse("").unwrap().is_empty());
        let chat = Permissions::parse("chat").unwrap();
        assert_eq!(set.beyond(chat).to_text(), "stats.view audit.read");
        assert!(chat.beyond(set).is_empty());
        assert_eq!(builtin(ADMIN), Some(Permissions::all()));
        assert!(!builtin(AGENT).unwrap().has(Permission::StatsView));
        assert_eq!(builtin(99), None);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<Permissions>(&json).unwrap(), set);
        assert!(serde_json::from_str::<Permissions>("[\"root\"]").is_err());
    }
}
