//! Who is calling: the client's address and scheme (believing forwarded headers only from the
//! configured proxy), the request id, and this server's own origin for Origin checks.

use super::AppState;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv4Addr};

/// The `Origin` header as sent, or "" when there is none.
pub fn request_origin(req: &HttpRequest) -> String {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The request id set by the header middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Facts about the caller every handler may need.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client's address (the proxy's forwarded one only when the peer is the proxy).
    pub ip: IpAddr,
    /// `https` or `http` as the client sees us.
    pub scheme: &'static str,
    /// This request's id.
    pub request_id: String,
    /// Our own origin as the browser sees it, e.g. `https://chat.example`.
    pub origin: String,
}

impl Client {
    /// Builds the caller's facts from the request and configuration.
    pub fn of(req: &HttpRequest, state: &AppState) -> Client {
        let peer = peer_of(req);
        let from_proxy = state.config.trusted_proxy == Some(peer);
        let ip = if from_proxy {
            // The proxy appends the address it saw last; anything before may be forged.
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(peer)
        } else {
            peer
        };
        let scheme = scheme_of(req, state, from_proxy);
        let origin = match &state.config.public_url {
            Some(u) => u.clone(),
            None => {
                let host = req
                    .headers()
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .or_else(|| req.uri().authority().map(|a| a.to_string()))
                    .unwrap_or_default();
                crate::config::normalize_origin(&format!("{scheme}://{host}")).unwrap_or_default()
            }
        };
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        Client {
            ip,
            scheme,
            request_id,
            origin,
        }
    }

    /// Whether the client reaches us over HTTPS, without the rest of [`Client::of`] (the
    /// header middleware asks this of every request).
    pub fn https_of(req: &HttpRequest, state: &AppState) -> bool {
        let from_proxy = state.config.trusted_proxy == Some(peer_of(req));
        scheme_of(req, state, from_proxy) == "https"
    }

    /// The address as records keep it: truncated (IPv4 /24, IPv6 /48).
    pub fn shown_ip(&self) -> String {
        crate::model::ip::truncate(self.ip).to_string()
    }

    /// Whether the client reaches us over HTTPS (our TLS, or the trusted proxy's).
    pub fn https(&self) -> bool {
        self.scheme == "https"
    }

    /// Whether the request's `Origin` is exactly our own (the CSRF origin check).
    pub fn same_origin(&self, req: &HttpRequest) -> bool {
        let sent = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        let fetch_site_ok = req
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v == "same-origin" || v == "none");
        !self.origin.is_empty() && sent == Some(self.origin.as_str()) && fetch_site_ok
    }
}

/// The connection's peer address.
fn peer_of(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// `https` or `http` as the client sees us: our TLS, or the trusted proxy's word.
fn scheme_of(req: &HttpRequest, state: &AppState, from_proxy: bool) -> &'static str {
    let proxy_says_https = from_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    if state.config.tls.is_some() || proxy_says_https {
        "https"
    } else {
        "http"
    }
}

impl FromRequest for Client {
    type Error = ApiError;
    type Future = Ready<Result<Client, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<AppState>>() {
            Some(state) => Ok(Client::of(req, state)),
            None => Err(crate::error::Error::Internal("app state missing".into()).into()),
        })
    }
}
