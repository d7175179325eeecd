//! Team chat: agents of a tenant talking to each other, in a whole-team room, a room per
//! department and one-to-one rooms (`model::team::Room`). It runs in the tenant's hub like the
//! visitor chats, with the same guarantees: a message is stored in the batch's transaction
//! under its room's next seq and acknowledged only after COMMIT; a retry with the same client
//! id is stored once; a dashboard that missed messages reads them over HTTP from the seq it
//! holds (`GET /api/team/rooms/{room}/messages?after=`). Visitors never get any of it.

use crate::domain::conversation::{AgentCtx, Conversations, Effect, Effects, To};
use crate::domain::protocol::{AgentIn, Out, TeamRoomOut, check_message};
use crate::error::{Code, Error, Result};
use crate::model::rights::{Permission, Permissions};
use crate::model::team::{Member, Room};
use crate::store::{chat, team, tenant};
use rusqlite::Connection;
use std::collections::HashMap;

/// Messages one page of a room's log holds at most.
pub const PAGE: i64 = 200;

/// Handles a team frame (`AgentIn::is_team`) from an agent allowed to chat.
pub fn frame(
    c: &Connection,
    chats: &Conversations,
    ctx: &AgentCtx,
    frame: AgentIn,
) -> Result<Effects> {
    let mut fx = Effects::default();
    let reply = |fx: &mut Effects, out: Out| fx.0.push(Effect::Send(To::Sender, out));
    match frame {
        AgentIn::TeamMessage {
            room,
            client_id,
            text,
        } => {
            let refused = |code, message: String| Out::TeamRefused {
                room: room.clone(),
                client_id: client_id.clone(),
                code,
                message,
            };
            if let Err(Out::Error { code, message, .. }) = check_message(&client_id, &text) {
                reply(&mut fx, refused(code, message));
                return Ok(fx);
            }
            let Some(r) = writable(c, ctx, &room)? else {
                reply(&mut fx, refused(Code::NotFound, "no such team room".into()));
                return Ok(fx);
            };
            let (seq, new) = team::insert(c, &room, ctx.agent_id, &client_id, &text, ctx.at)?;
            // Writing is reading what came before.
            team::mark_read(c, ctx.agent_id, &room, seq)?;
            reply(
                &mut fx,
                Out::TeamAck {
                    room: room.clone(),
                    client_id,
                    seq,
                },
            );
            if new {
                let message = team::TeamMessage {
                    room,
                    seq,
                    agent_id: ctx.agent_id,
                    author_name: ctx.name.clone(),
                    text,
                    at: ctx.at,
                };
                fx.0.push(Effect::Team {
                    agents: chats.present_in(r),
                    frame: Out::TeamMessage(message),
                });
            }
        }
        AgentIn::TeamRead { room, seq } => {
            if readable(c, ctx.agent_id, ctx.permissions, &room)?.is_none() {
                reply(&mut fx, Out::error(Code::NotFound, "no such team room"));
                return Ok(fx);
            }
            if seq < 0 {
                reply(
                    &mut fx,
                    Out::error(Code::InvalidInput, "seq must not be negative"),
                );
                return Ok(fx);
            }
            team::mark_read(c, ctx.agent_id, &room, seq)?;
            fx.0.push(Effect::Team {
                agents: vec![ctx.agent_id],
                frame: Out::TeamRead { room, seq },
            });
        }
        _ => return Err(Error::Internal("not a team frame".into())),
    }
    Ok(fx)
}

/// The room named `room` if the agent may read it: a well-formed name, a room they belong to
/// now, a department that exists. Anything else is `None` (answered as not found: whether a
/// room exists is nobody else's business).
pub fn readable(
    c: &Connection,
    agent_id: i64,
    permissions: Permissions,
    room: &str,
) -> Result<Option<Room>> {
    Ok(member_of(c, agent_id, permissions, room)?.map(|(r, _)| r))
}

/// The room if the agent may write in it: readable, and for a one-to-one room the other agent
/// can still answer (enabled, allowed to chat).
fn writable(c: &Connection, ctx: &AgentCtx, room: &str) -> Result<Option<Room>> {
    Ok(
        member_of(c, ctx.agent_id, ctx.permissions, room)?.and_then(|(r, other)| match other {
            Some(o) if o.disabled || !o.may(Permission::Chat) => None,
            _ => Some(r),
        }),
    )
}

/// The room the agent belongs to, with the other agent of a one-to-one room (each read once:
/// this runs for every team message in the hub's batch).
fn member_of(
    c: &Connection,
    agent_id: i64,
    permissions: Permissions,
    room: &str,
) -> Result<Option<(Room, Option<tenant::AgentRecord>)>> {
    let Some(r) = Room::parse(room).filter(|_| permissions.has(Permission::Chat)) else {
        return Ok(None);
    };
    let all_departments = permissions.has(Permission::ChatsAll);
    // Only a department room asks which departments the agent is in.
    let departments = match r {
        Room::Department(_) if !all_departments => chat::agent_departments(c, agent_id)?,
        _ => Vec::new(),
    };
    let member = Member {
        agent_id,
        departments: &departments,
        all_departments,
    };
    if !r.has(member) {
        return Ok(None);
    }
    Ok(match r {
        Room::All => Some((r, None)),
        Room::Department(d) => chat::department_exists(c, d)?.then_some((r, None)),
        Room::Direct(..) => match r.other(agent_id) {
            Some(other) => tenant::agent_by_id(c, other)?.map(|o| (r, Some(o))),
            None => None,
        },
    })
}

/// The rooms an agent belongs to, with their last seq and the agent's read position: the
/// whole team, their departments (every department for those who see all chats), and a
/// one-to-one room with each colleague who may chat (and with former ones whose room has
/// messages, to read back).
pub fn rooms(c: &Connection, agent_id: i64, permissions: Permissions) -> Result<Vec<TeamRoomOut>> {
    if !permissions.has(Permission::Chat) {
        return Ok(Vec::new());
    }
    let last: HashMap<String, i64> = team::last_seqs(c)?.into_iter().collect();
    let read: HashMap<String, i64> = team::reads(c, agent_id)?.into_iter().collect();
    let out = |room: Room, kind, name: String, other: Option<i64>| {
        let key = room.to_string();
        TeamRoomOut {
            last_seq: last.get(&key).copied().unwrap_or(0),
            read_seq: read.get(&key).copied().unwrap_or(0),
            room: key,
            kind,
            name,
            agent_id: other,
        }
    };
    let mut rooms = vec![out(Room::All, "all", String::new(), None)];
    let mine = chat::agent_departments(c, agent_id)?;
    let all_departments = permissions.has(Permission::ChatsAll);
    for d in tenant::list_departments(c)? {
        if all_departments || mine.contains(&d.id) {
            rooms.push(out(Room::Department(d.id), "department", d.name, None));
        }
    }
    let mut direct: Vec<TeamRoomOut> = Vec::new();
    for a in tenant::list_agents(c)? {
        let Some(room) = Room::direct(agent_id, a.id) else {
            continue;
        };
        let active = !a.disabled && a.may(Permission::Chat);
        if active || last.contains_key(&room.to_string()) {
            direct.push(out(room, "direct", a.display_name, Some(a.id)));
        }
    }
    direct.sort_by_key(|r| r.name.to_lowercase());
    rooms.extend(direct);
    Ok(rooms)
}
