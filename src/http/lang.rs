//! The UI language of a dashboard or sign-in request: `?lang=` (remembered in a cookie), else
//! the cookie, else `Accept-Language`, else English. Only the dashboard's languages
//! (`Lang::DASHBOARD`, English and German) count; the widget's others do not.

use crate::i18n::Lang;
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;

const COOKIE: &str = "kontor_lang";

/// The language, and a cookie to set when the user switched it with `?lang=`.
pub fn pick(req: &HttpRequest) -> (Lang, Option<Cookie<'static>>) {
    let from_query = req
        .query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .and_then(Lang::parse_dashboard);
    if let Some(lang) = from_query {
        let cookie = Cookie::build(COOKIE, lang.code())
            .path("/")
            .same_site(SameSite::Lax)
            .http_only(true)
            .max_age(actix_web::cookie::time::Duration::days(365))
            .finish();
        return (lang, Some(cookie));
    }
    if let Some(lang) = req
        .cookie(COOKIE)
        .and_then(|c| Lang::parse_dashboard(c.value()))
    {
        return (lang, None);
    }
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    (Lang::from_accept_language(accept), None)
}
