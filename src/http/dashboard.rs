//! The dashboard shell: navigation to the areas, signed-in agents only; an area the agent's
//! role cannot use is left out of the navigation.

use super::{State, lang, session};
use crate::error::ApiError;
use crate::i18n::{self, Lang};
use crate::model::rights::{Permission, Permissions};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

/// The dashboard's areas, in navigation order.
pub const SECTIONS: [&str; 6] = [
    "visitors",
    "chats",
    "history",
    "statistics",
    "settings",
    "privacy",
];

/// The parts of Settings, each with its own address (`/app/settings/{part}`), in navigation
/// order. `/app/settings` alone shows the first one the agent may see.
pub const SETTINGS_PARTS: [&str; 9] = [
    "general",
    "sites",
    "team",
    "chat",
    "tracking",
    "campaigns",
    "notices",
    "api",
    "profile",
];

/// Whether the agent may see a part of Settings (the dashboard checks the same; the APIs
/// check again). One they may not see answers with the page saying so.
pub fn settings_part_shows(part: &str, p: Permissions) -> bool {
    match part {
        "sites" | "notices" => p.has(Permission::SitesManage),
        "team" => p.has(Permission::AgentsManage),
        "campaigns" => p.has(Permission::CampaignsManage),
        "api" => p.has(Permission::SettingsManage),
        _ => SETTINGS_PARTS.contains(&part),
    }
}

/// `GET /`: to the dashboard.
pub async fn root() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/app/chats"))
        .finish()
}

/// `GET /app/{section}`: the shell with one area selected; to sign-in when not signed in.
pub async fn section(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    if !SECTIONS.contains(&name.as_str()) {
        return Err(ApiError::not_found());
    }
    shell(req, state, &name, &format!("/app/{name}")).await
}

/// `GET /app/{section}/{part}`: the shell at one part of a section (only Settings has
/// parts); unknown ones are not found, one the agent may not see shows the page saying so.
pub async fn part(
    req: HttpRequest,
    state: State,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, part) = path.into_inner();
    if name != "settings" || !SETTINGS_PARTS.contains(&part.as_str()) {
        return Err(ApiError::not_found());
    }
    shell(req, state, &name, &format!("/app/{name}/{part}")).await
}

async fn shell(
    req: HttpRequest,
    state: State,
    name: &str,
    here: &str,
) -> Result<HttpResponse, ApiError> {
    let Some(s) = session::current(&req, &state).await? else {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login?next={here}")))
            .finish());
    };
    // The operator's support login sees no chats, visitors or privacy data: it lands in
    // Settings (Statistics is its other section).
    if s.agent.role_id == crate::model::rights::SUPPORT
        && !["settings", "statistics"].contains(&name)
    {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/app/settings"))
            .finish());
    }
    let (picked, lang_cookie) = lang::pick(&req);
    let (db, id) = (s.tenant.clone(), s.agent.id);
    let me = web::block(move || db.read(|c| crate::store::profile::profile(c, id))).await??;
    // The agent's own choice of language wins over the browser's, unless `?lang=` asks now.
    let chosen = me
        .as_ref()
        .and_then(|p| p.lang.as_deref())
        .and_then(Lang::parse_dashboard);
    let asked = req
        .query_string()
        .split('&')
        .any(|kv| kv.starts_with("lang="));
    let lang = match chosen {
        Some(l) if !asked => l,
        _ => picked,
    };
    let flag = |on: bool| if on { "on" } else { "off" };
    let sound = flag(me.as_ref().is_none_or(|p| p.notify_sound));
    let desktop = flag(me.as_ref().is_none_or(|p| p.notify_desktop));
    let tenant_name = tenant_name(&state, &s.tenant.uuid).await?;
    let html = render(
        lang,
        name,
        &tenant_name,
        &s.agent.display_name,
        &s.csrf,
        s.agent.permissions,
        &[("notify_sound", sound), ("notify_desktop", desktop)],
    );
    let mut res = HttpResponse::Ok();
    if let Some(c) = lang_cookie {
        res.cookie(c);
    }
    Ok(res.content_type("text/html; charset=utf-8").body(html))
}

async fn tenant_name(state: &State, uuid: &str) -> Result<String, ApiError> {
    let st = state.clone();
    let uuid = uuid.to_string();
    let rec = web::block(move || {
        st.store
            .system(|c| crate::store::system::tenant_by_uuid(c, &uuid))
    })
    .await??;
    Ok(rec.map(|r| r.name).unwrap_or_default())
}

/// Whether the navigation shows a section to an agent with `p` (the APIs check again).
fn shows(section: &str, p: Permissions) -> bool {
    let any = |list: &[Permission]| list.iter().any(|x| p.has(*x));
    match section {
        "visitors" => any(&[Permission::VisitorsView]),
        "chats" => any(&[Permission::Chat]),
        "history" => any(&[Permission::Chat, Permission::ChatsAll]),
        // Everyone: an agent without the statistics permission sees their own work time.
        "statistics" => true,
        "privacy" => any(&[
            Permission::GdprHandle,
            Permission::SettingsManage,
            Permission::AuditRead,
        ]),
        _ => true,
    }
}

fn render(
    lang: Lang,
    section: &str,
    tenant: &str,
    agent: &str,
    csrf: &str,
    permissions: Permissions,
    extra: &[(&str, &str)],
) -> String {
    let title = i18n::t(lang, &format!("nav.{section}"));
    let text = i18n::t(lang, &format!("section.{section}"));
    let current: Vec<(String, &str)> = SECTIONS
        .iter()
        .map(|s| {
            (
                format!("current_{s}"),
                if *s == section { "page" } else { "false" },
            )
        })
        .collect();
    let nav: Vec<(String, &str)> = SECTIONS
        .iter()
        .map(|s| {
            let class = if shows(s, permissions) { "" } else { "nav-off" };
            (format!("nav_{s}"), class)
        })
        .collect();
    let mut vars: Vec<(&str, &str)> = vec![
        ("section", section),
        ("section_title", title),
        ("section_text", text),
        ("tenant_name", tenant),
        ("agent_name", agent),
        ("csrf", csrf),
    ];
    vars.extend(current.iter().map(|(k, v)| (k.as_str(), *v)));
    vars.extend(nav.iter().map(|(k, v)| (k.as_str(), *v)));
    vars.extend_from_slice(extra);
    i18n::render("dashboard.html", lang, &vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parts_follow_their_permissions() {
        let none = Permissions::default();
        let shown: Vec<_> = SETTINGS_PARTS
            .iter()
            .filter(|p| settings_part_shows(p, none))
            .collect();
        assert_eq!(shown, [&"general", &"chat", &"tracking", &"profile"]);
        assert!(!settings_part_shows("nonsense", none));
    }
}
