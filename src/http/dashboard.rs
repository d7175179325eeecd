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
    let Some(s) = session::current(&req, &state).await? else {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login?next=/app/{name}")))
            .finish());
    };
    let (lang, lang_cookie) = lang::pick(&req);
    let tenant_name = tenant_name(&state, &s.tenant.uuid).await?;
    let html = render(
        lang,
        &name,
        &tenant_name,
        &s.agent.display_name,
        &s.csrf,
        s.agent.permissions,
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
        "statistics" => any(&[Permission::StatsView]),
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
    i18n::render("dashboard.html", lang, &vars)
}
