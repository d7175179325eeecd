//! Every agent's own profile (`/api/me`): the name visitors see, the dashboard's language,
//! the alerts for a newly waiting chat, and their password. No permission is needed: an
//! agent changes only their own. Changes are audited (`profile.update`, `profile.password`);
//! a wrong current password counts against the sign-in throttle like a failed sign-in.

use super::agent::{Agent, Reply};
use crate::realtime::hub::Command;
use crate::store::profile::{self, ProfileChange};
use actix_web::HttpResponse;
use actix_web::web::Json;
use serde::Deserialize;

/// `GET /api/me`: the caller's profile.
pub async fn show(a: Agent) -> Reply {
    let agent = a.session.agent.id;
    let p = a
        .read(move |c| profile::profile(c, agent))
        .await?
        .ok_or_else(crate::error::ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(p))
}

/// `PUT /api/me` `{display_name?, lang?, notify_sound?, notify_desktop?}`.
pub async fn change(a: Agent, body: Json<ProfileChange>) -> Reply {
    a.csrf()?;
    let (agent, change) = (a.session.agent.id, body.into_inner());
    let renames = change.renames();
    let p = a.db(move |c| profile::change(c, agent, &change)).await?;
    if renames {
        // A running hub shows the new name to visitors at once.
        a.tell_hub(Command::AgentChanged(agent));
    }
    a.audit("profile.update", &format!("agent#{agent}")).await;
    Ok(HttpResponse::Ok().json(p))
}

/// Body of `POST /api/me/password`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current: String,
    new: String,
}

/// `POST /api/me/password` `{current, new}`: every other session of the caller ends.
pub async fn password(a: Agent, body: Json<PasswordBody>) -> Reply {
    a.csrf()?;
    let PasswordBody { current, new } = body.into_inner();
    // A refused new password is no guess at the current one: not counted.
    crate::domain::agents::check_password(&new)?;
    let (agent, keep) = (a.session.agent.id, a.session.token_hash.clone());
    let ended = super::two_factor::throttled(&a, move |c| {
        profile::change_password(c, agent, &current, &new, &keep)
    })
    .await?;
    // Open dashboard sockets of the ended sessions close (the hub re-checks sessions).
    a.audit("profile.password", &format!("agent#{agent}")).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ended": ended })))
}
