//! API tokens at the edge: `Authorization: Bearer kt_…` on `/api/v1/`, never a query string,
//! with a rate limit per token.

use super::State;
use super::client::Client;
use crate::domain::api_tokens::{self, Refusal, TokenSession};
use crate::error::{ApiError, Code, Error};
use crate::model::ratelimit::RateLimit;
use actix_web::{HttpRequest, web};
use std::time::Instant;

/// Calls a token may make a minute (bursts of as many).
pub const PER_MINUTE: u32 = 600;

/// The calls each token has left.
pub struct TokenLimits(RateLimit);

impl Default for TokenLimits {
    fn default() -> TokenLimits {
        TokenLimits(RateLimit::new(PER_MINUTE))
    }
}

/// Whether a query string carries something that looks like a token (refused, never used:
/// query strings end up in logs, histories and `Referer` headers).
fn token_in_query(query: &str) -> bool {
    query.contains(api_tokens::PREFIX)
        || query
            .split('&')
            .any(|p| p.starts_with("access_token=") || p.starts_with("token="))
}

/// The token of an API call and the session it runs as; 401 (with why), 400 for a token in
/// the query string, 429 with `Retry-After` beyond the rate limit.
pub async fn current(
    req: &HttpRequest,
    state: &State,
    client: &Client,
) -> Result<TokenSession, ApiError> {
    if token_in_query(req.query_string()) {
        return Err(ApiError::bad_request(
            "API tokens are never accepted in a query string; send Authorization: Bearer",
        ));
    }
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = match header.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_string(),
        _ => {
            return Err(ApiError::of(
                Code::Unauthorized,
                "send an API token as Authorization: Bearer kt_…",
            ));
        }
    };
    let (st, ip) = (state.clone(), client.shown_ip());
    let found =
        web::block(move || api_tokens::authenticate(&st.store, &st.clock, &token, &ip)).await??;
    let ts = match found {
        Ok(ts) => ts,
        Err(r) => {
            crate::domain::intrusion::token_refused(client.ip, "api_token");
            return Err(match r {
                Refusal::Unknown => ApiError::from(Error::Unauthorized),
                Refusal::Expired => ApiError::of(Code::TokenExpired, "this API token has expired"),
                Refusal::Revoked => ApiError::of(
                    Code::TokenRevoked,
                    "this API token was revoked, or its agent is disabled",
                ),
            });
        }
    };
    let key = format!("{}#{}", ts.session.tenant.uuid, ts.id);
    if let Err(wait) = state.api_limits.0.take_key(key, Instant::now()) {
        return Err(ApiError::of(
            Code::ApiRateLimited,
            format!("this token made more than {PER_MINUTE} calls a minute; retry in {wait} s"),
        )
        .with_retry_after(wait));
    }
    Ok(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_query_strings_are_noticed() {
        assert!(token_in_query("access_token=abc"));
        assert!(token_in_query("a=1&token=x"));
        assert!(token_in_query("x=kt_1234"));
        assert!(!token_in_query("status=open&limit=10"));
        assert!(!token_in_query(""));
    }
}
