//! Which agent gets a new chat: the available agent (online, below capacity, in the chat's
//! department when it has one) with the fewest open chats; ties go to the agent who has been
//! waiting longest for work (lowest id as a stable stand-in). No such agent: the chat waits.

/// An agent as routing sees them.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Agent id.
    pub agent_id: i64,
    /// Online (not away or offline).
    pub online: bool,
    /// Open chats now.
    pub open: usize,
    /// Chats they take at once.
    pub capacity: usize,
    /// Departments they belong to.
    pub departments: Vec<i64>,
}

/// The agent a new chat should go to, if anyone can take it.
pub fn pick(candidates: &[Candidate], department: Option<i64>) -> Option<i64> {
    candidates
        .iter()
        .filter(|c| c.online && c.open < c.capacity)
        .filter(|c| department.is_none_or(|d| c.departments.contains(&d)))
        .min_by_key(|c| (c.open, c.agent_id))
        .map(|c| c.agent_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(agent_id: i64, online: bool, open: usize, capacity: usize, deps: &[i64]) -> Candidate {
        Candidate {
            agent_id,
            online,
            open,
            capacity,
            departments: deps.to_vec(),
        }
    }

    #[test]
    fn fewest_open_chats_wins() {
        let all = [
            c(1, true, 2, 3, &[]),
            c(2, true, 1, 3, &[]),
            c(3, true, 1, 3, &[]),
        ];
        assert_eq!(pick(&all, None), Some(2));
    }

    #[test]
    fn offline_full_and_other_departments_are_skipped() {
        let all = [
            c(1, false, 0, 3, &[7]),
            c(2, true, 3, 3, &[7]),
            c(3, true, 0, 3, &[8]),
            c(4, true, 2, 3, &[7]),
        ];
        assert_eq!(pick(&all, Some(7)), Some(4));
        assert_eq!(pick(&all, Some(9)), None);
        assert_eq!(pick(&all[..2], None), None);
    }
}
