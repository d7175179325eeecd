//! Deadlines on request bodies. actix times out a request's head (10 s), but a client that
//! sends headers and then trickles or stalls its body would hold a connection for as long as
//! it likes. Every body must keep coming (a chunk at least every [`IDLE`]) and be complete
//! within [`TOTAL`] (a 10 MB upload at 100 KB/s); otherwise reading it fails, the request is
//! answered as bad, and the connection closes. WebSocket upgrades are left alone: after the
//! upgrade their "body" is the socket, which has its own timeouts.

use crate::error::ApiError;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_core::Stream;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep};

/// Longest pause between two pieces of a body.
pub const IDLE: Duration = Duration::from_secs(10);
/// Longest time to receive a whole body.
pub const TOTAL: Duration = Duration::from_secs(120);

/// The middleware: wraps the body of every request but a WebSocket upgrade.
pub async fn deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !req.headers().contains_key(header::UPGRADE) {
        let body = Deadline {
            inner: req.take_payload(),
            idle: Box::pin(sleep(IDLE)),
            end: Box::pin(sleep(TOTAL)),
        };
        req.set_payload(Payload::from(
            Box::pin(body) as Pin<Box<dyn Stream<Item = _>>>
        ));
    }
    next.call(req).await
}

/// A body that fails once it pauses longer than [`IDLE`] or runs past [`TOTAL`].
struct Deadline {
    inner: Payload,
    idle: Pin<Box<Sleep>>,
    end: Pin<Box<Sleep>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(piece))) => {
                this.idle.as_mut().reset(Instant::now() + IDLE);
                Poll::Ready(Some(Ok(piece)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => {
                let idle = this.idle.as_mut().poll(cx).is_ready();
                let late = this.end.as_mut().poll(cx).is_ready();
                if idle || late {
                    let e =
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "request body too slow");
                    return Poll::Ready(Some(Err(PayloadError::Io(e))));
                }
                Poll::Pending
            }
        }
    }
}

/// A raw request body of at most `limit` bytes (uploads, the page-view report). Past the limit
/// it is `too_large`, the handler's own answer for a body too large; a body that does not arrive
/// whole (cut off, or too slow for the deadline) is `invalid_input`. Both are the JSON error every
/// other answer is, where actix's `Bytes` extractor answers in plain text.
pub async fn read(
    payload: actix_web::web::Payload,
    limit: usize,
    too_large: ApiError,
) -> Result<Bytes, ApiError> {
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(ApiError::bad_request(format!(
            "the request body did not arrive: {e}"
        ))),
        Err(_) => Err(too_large),
    }
}
