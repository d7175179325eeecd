//! The values a visitor gave in the pre-chat form, kept with their conversation (deleted
//! with it by the foreign key: erasure and retention need nothing of their own).

use crate::error::Result;
use crate::model::forms::Filled;
use crate::store::rows;
use rusqlite::{Connection, params};

/// Stores a conversation's values, in the form's order.
pub fn insert_fields(c: &Connection, conversation_id: i64, values: &[Filled]) -> Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO conversation_fields
             (conversation_id, name, kind, label_de, label_en, value, option_de, option_en)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for v in values {
        stmt.execute(params![
            conversation_id,
            v.name,
            v.kind,
            v.label_de,
            v.label_en,
            v.value,
            v.option_de,
            v.option_en
        ])?;
    }
    Ok(())
}

/// A conversation's values, in the order given.
pub fn fields(c: &Connection, conversation_id: i64) -> Result<Vec<Filled>> {
    rows::all_cached(
        c,
        "SELECT name, kind, label_de, label_en, value, option_de, option_en
         FROM conversation_fields WHERE conversation_id = ?1 ORDER BY id",
        [conversation_id],
        |r| {
            Ok(from_row!(r => Filled {
                name, kind, label_de, label_en, value, option_de, option_en,
            }))
        },
    )
}
