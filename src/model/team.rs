//! Team chat rooms: who talks to whom among a tenant's agents. A room is the whole team
//! (`all`), one department's team (`d<id>`) or two agents (`a<low>-<high>`, the lower id
//! first so both sides name the same room). The name is the room's key in storage and on the
//! wire; membership is decided here from what the caller knows of the agent.

use std::fmt;

/// A team chat room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Room {
    /// Every agent who may chat.
    All,
    /// The agents of one department (and those who see every department's chats).
    Department(i64),
    /// Two agents, the lower id first.
    Direct(i64, i64),
}

/// What membership depends on.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// The agent.
    pub agent_id: i64,
    /// Their departments.
    pub departments: &'a [i64],
    /// They see every department's chats (supervisors, admins).
    pub all_departments: bool,
}

impl Room {
    /// The room of two agents (in either order); `None` for an agent with themselves.
    pub fn direct(a: i64, b: i64) -> Option<Room> {
        (a != b && a > 0 && b > 0).then(|| Room::Direct(a.min(b), a.max(b)))
    }

    /// Reads a room's name as written by [`Room::to_string`]; anything else is `None`.
    pub fn parse(s: &str) -> Option<Room> {
        if s == "all" {
            return Some(Room::All);
        }
        let id = |t: &str| -> Option<i64> {
            // Only the canonical form: no sign, no leading zero, no spaces.
            (!t.is_empty() && !t.starts_with('0') && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        if let Some(rest) = s.strip_prefix('d') {
            return id(rest).map(Room::Department);
        }
        let (a, b) = s.strip_prefix('a')?.split_once('-')?;
        let (a, b) = (id(a)?, id(b)?);
        // The lower id first, so one pair has one room.
        (a < b).then_some(Room::Direct(a, b))
    }

    /// Whether the agent belongs to the room.
    pub fn has(&self, m: Member<'_>) -> bool {
        match *self {
            Room::All => true,
            Room::Department(d) => m.all_departments || m.departments.contains(&d),
            Room::Direct(a, b) => m.agent_id == a || m.agent_id == b,
        }
    }

    /// For a direct room, the agent on the other side of `me`.
    pub fn other(&self, me: i64) -> Option<i64> {
        match *self {
            Room::Direct(a, b) if a == me => Some(b),
            Room::Direct(a, b) if b == me => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Room::All => f.write_str("all"),
            Room::Department(d) => write!(f, "d{d}"),
            Room::Direct(a, b) => write!(f, "a{a}-{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_only_the_canonical_form_is_a_room() {
        for r in [Room::All, Room::Department(7), Room::Direct(3, 12)] {
            assert_eq!(Room::parse(&r.to_string()), Some(r));
        }
        for bad in [
            "",
            "ALL",
            "d",
            "d0",
            "d07",
            "d-1",
            "d 1",
            "a3",
            "a3-",
            "a12-3",
            "a3-3",
            "a+3-4",
            "a3-4x",
            "x",
            "d99999999999999999999",
        ] {
            assert_eq!(Room::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Room::direct(9, 4), Some(Room::Direct(4, 9)));
        assert_eq!(Room::direct(4, 4), None);
    }

    #[test]
    fn membership_follows_departments_and_pairs() {
        let ann = Member {
            agent_id: 1,
            departments: &[5],
            all_departments: false,
        };
        let boss = Member {
            agent_id: 9,
            departments: &[],
            all_departments: true,
        };
        assert!(Room::All.has(ann));
        assert!(Room::Department(5).has(ann));
        assert!(!Room::Department(6).has(ann));
        assert!(Room::Department(6).has(boss));
        assert!(Room::Direct(1, 2).has(ann));
        assert!(!Room::Direct(2, 9).has(ann));
        // Seeing every department opens no one else's private room.
        assert!(!Room::Direct(1, 2).has(boss));
        assert_eq!(Room::Direct(1, 2).other(1), Some(2));
        assert_eq!(Room::Direct(1, 2).other(3), None);
    }
}
