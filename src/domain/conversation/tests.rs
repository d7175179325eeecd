//! The conversation rules without sockets or a database: events in, effects and rows out.
