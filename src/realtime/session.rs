//! One socket's loop: frames in (size-limited, rate-limited, strictly parsed) go to the hub;
//! frames out come from the hub through a bounded queue; pings keep the line honest.

use super::gate::Admission;
use super::hub::{Command, ConnId, HubHandle, OUTBOX, Outgoing, Peer};
use super::protocol::{AgentIn, MAX_FRAME_BYTES, Out, VisitorIn};
use crate::domain::intrusion;
use crate::error::Code;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How often we ping.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Silence after which the peer is considered gone.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Sustained frames per second a client may send.
const RATE_PER_SEC: f64 = 20.0;
/// Burst above the sustained rate.
const BURST: f64 = 40.0;
/// Refused frames in a row after which the socket is closed: a client that keeps sending
/// over its rate is cut off instead of being answered frame by frame.
const MAX_REFUSED: u32 = 20;

/// Which parser applies.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    /// The widget.
    Visitor,
    /// The dashboard.
    Agent,
}

/// A token bucket: `RATE_PER_SEC` sustained, `BURST` at once.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * RATE_PER_SEC).min(BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Registers the socket with the hub and runs it until either side ends it. A widget socket
/// comes with its `admission`: its places under the chat limits, and whether it may start a
/// chat.
pub async fn run(
    hub: HubHandle,
    conn: ConnId,
    peer: Peer,
    side: Side,
    admission: Option<Admission>,
    mut ws: actix_ws::Session,
    stream: actix_ws::MessageStream,
) {
    let _open = crate::metrics::socket_opened(match side {
        Side::Visitor => "visitor",
        Side::Agent => "agent",
    });
    let (tx, mut rx) = mpsc::channel::<Outgoing>(OUTBOX);
    if !hub.send(Command::Join {
        conn,
        peer,
        out: tx,
    }) {
        let _ = ws.close(Some(busy())).await;
        return;
    }
    let mut stream = stream
        .max_frame_size(MAX_FRAME_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME_BYTES);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let mut bucket = Bucket {
        tokens: BURST,
        at: Instant::now(),
    };
    let mut refused = 0u32;

    let reason: Option<CloseReason> = loop {
        tokio::select! {
            msg = stream.recv() => {
                last_heard = Instant::now();
                match msg {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        if !bucket.take() {
                            refused += 1;
                            if refused > MAX_REFUSED {
                                if let Some(a) = &admission {
                                    intrusion::socket_refused(a.client(), "visitor", "too_many_frames", a.site());
                                }
                                break Some(close(CloseCode::Policy, "too many frames"));
                            }
                            // Said once per run of refused frames, not once per frame.
                            if refused == 1 && ws.text(Out::error(Code::RateLimited, "slow down").encode()).await.is_err() {
                                break None;
                            }
                            continue;
                        }
                        refused = 0;
                        let reply = match parse(side, conn, &text) {
                            Ok(Command::Visitor(_, VisitorIn::Start { .. }))
                                if admission.as_ref().is_some_and(|a| !a.may_start(Instant::now())) =>
                            {
                                if let Some(a) = &admission {
                                    intrusion::rate_limited(a.client(), "chat_start");
                                }
                                Some(Out::error(Code::TooManyChats, "too many chats started from here; please try again in a minute"))
                            }
                            Ok(cmd) => (!hub.send(cmd)).then(|| Out::error(Code::Busy, "the server is busy; retry")),
                            Err(e) => Some(e),
                        };
                        if let Some(r) = reply
                            && ws.text(r.encode()).await.is_err()
                        {
                            break None;
                        }
                    }
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        break Some(close(CloseCode::Unsupported, "text frames only"));
                    }
                    Some(Ok(AggregatedMessage::Ping(b))) => {
                        if ws.pong(&b).await.is_err() {
                            break None;
                        }
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                    Some(Err(e)) => break Some(protocol_close(&e)),
                }
            }
            frame = rx.recv() => match frame {
                Some(Outgoing::Frame(f)) => {
                    if ws.text(f.to_string()).await.is_err() {
                        break None;
                    }
                }
                // The client took a page of its catching up: ask for the next.
                Some(Outgoing::PageEnd) => {
                    if !hub.send(Command::More(conn)) {
                        break Some(busy());
                    }
                }
                // The hub dropped us: we fell behind, our session ended, or it stopped.
                None => break Some(close(CloseCode::Again, "resume")),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > TIMEOUT {
                    break Some(close(CloseCode::Away, "timeout"));
                }
                if ws.ping(b"").await.is_err() {
                    break None;
                }
            }
        }
    };
    hub.send(Command::Leave(conn));
    let _ = ws.close(reason).await;
}

/// A client's text frame as a hub command, or the refusal to answer with.
fn parse(side: Side, conn: ConnId, text: &str) -> Result<Command, Out> {
    let cmd = match side {
        Side::Visitor => serde_json::from_str::<VisitorIn>(text).map(|f| Command::Visitor(conn, f)),
        Side::Agent => serde_json::from_str::<AgentIn>(text).map(|f| Command::Agent(conn, f)),
    };
    cmd.map_err(|e| {
        let what = format!("invalid frame: {}", first_line(&e.to_string()));
        Out::error(Code::InvalidFrame, what)
    })
}

fn close(code: CloseCode, description: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(description.into()),
    }
}

fn busy() -> CloseReason {
    close(CloseCode::Again, "busy")
}

/// 1009 for oversized frames (one frame, or a message of continuation frames), 1007 for
/// invalid UTF-8, 1002 for anything else.
fn protocol_close(e: &actix_ws::ProtocolError) -> CloseReason {
    match e {
        actix_ws::ProtocolError::Overflow => close(CloseCode::Size, "frame too large"),
        // The continuation aggregator reports its limit only as an I/O error of kind Other
        // with this text.
        actix_ws::ProtocolError::Io(io)
            if io.kind() == std::io::ErrorKind::Other
                && io.to_string().contains("maximum continuation size") =>
        {
            close(CloseCode::Size, "message too large")
        }
        actix_ws::ProtocolError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            close(CloseCode::Invalid, "invalid UTF-8")
        }
        _ => close(CloseCode::Protocol, "protocol error"),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").get(..200).unwrap_or(s)
}
