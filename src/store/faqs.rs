//! Sites' questions and answers in the tenant's database (`faqs`), and the two anonymous
//! counts kept about them (`faq_views`: answers opened per day and entry; `faq_chats`: chats
//! started per day and site after an answer was opened). The counts hold no visitor.

use crate::error::Result;
use crate::model::faq::Entry;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// A stored entry with its id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Faq {
    /// Its id (stable across edits; the frame reports views by it).
    pub id: i64,
    /// The texts and place.
    #[serde(flatten)]
    pub entry: Entry,
}

const DAY: i64 = 86_400;

fn faq(r: &rusqlite::Row) -> rusqlite::Result<Faq> {
    Ok(Faq {
        id: r.get(0)?,
        entry: Entry {
            position: r.get(1)?,
            question_de: r.get(2)?,
            answer_de: r.get(3)?,
            question_en: r.get(4)?,
            answer_en: r.get(5)?,
        },
    })
}

const COLUMNS: &str = "id, position, question_de, answer_de, question_en, answer_en";

/// A site's entries in their order.
pub fn list(c: &Connection, site_key: &str) -> Result<Vec<Faq>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM faqs WHERE site_key = ?1 ORDER BY position, id"
    ))?;
    let rows = st.query_map([site_key], faq)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many entries a site has.
pub fn count(c: &Connection, site_key: &str) -> Result<usize> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM faqs WHERE site_key = ?1",
        [site_key],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

/// One entry of a site.
pub fn get(c: &Connection, site_key: &str, id: i64) -> Result<Option<Faq>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM faqs WHERE site_key = ?1 AND id = ?2"),
        params![site_key, id],
        faq,
    )
    .optional()?)
}

/// A new entry of a site (already checked); its id.
pub fn insert(c: &Connection, site_key: &str, e: &Entry, at: i64) -> Result<i64> {
    c.execute(
        "INSERT INTO faqs (site_key, position, question_de, answer_de, question_en, answer_en,
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            site_key,
            e.position,
            e.question_de,
            e.answer_de,
            e.question_en,
            e.answer_en,
            at
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Replaces an entry's texts and place; false if the site has no such entry.
pub fn update(c: &Connection, site_key: &str, id: i64, e: &Entry, at: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE faqs SET position = ?3, question_de = ?4, answer_de = ?5, question_en = ?6,
             answer_en = ?7, updated_at = ?8 WHERE site_key = ?1 AND id = ?2",
        params![
            site_key,
            id,
            e.position,
            e.question_de,
            e.answer_de,
            e.question_en,
            e.answer_en,
            at
        ],
    )? == 1)
}

/// Removes an entry; false if the site has no such entry. Its past view counts stay.
pub fn delete(c: &Connection, site_key: &str, id: i64) -> Result<bool> {
    Ok(c.execute(
        "DELETE FROM faqs WHERE site_key = ?1 AND id = ?2",
        params![site_key, id],
    )? == 1)
}

/// Removes every entry of a removed site.
pub fn delete_site(c: &Connection, site_key: &str) -> Result<()> {
    c.execute("DELETE FROM faqs WHERE site_key = ?1", [site_key])?;
    Ok(())
}

fn day_start(at: i64) -> i64 {
    at - at.rem_euclid(DAY)
}

/// Counts one opened answer on the day of `at`; false (nothing counted) if the site has no
/// such entry.
pub fn count_view(c: &Connection, site_key: &str, id: i64, at: i64) -> Result<bool> {
    let n = c.execute(
        "INSERT INTO faq_views (day, faq_id, views)
             SELECT ?1, id, 1 FROM faqs WHERE site_key = ?2 AND id = ?3
         ON CONFLICT (day, faq_id) DO UPDATE SET views = views + 1",
        params![day_start(at), site_key, id],
    )?;
    Ok(n == 1)
}

/// Counts one chat of a site started after an answer was opened, on the day of `at`.
pub fn count_chat(c: &Connection, site_key: &str, at: i64) -> Result<()> {
    c.execute(
        "INSERT INTO faq_chats (day, site_key, chats) VALUES (?1, ?2, 1)
         ON CONFLICT (day, site_key) DO UPDATE SET chats = chats + 1",
        params![day_start(at), site_key],
    )?;
    Ok(())
}

/// Answers opened and chats started after one, in the days from `start` (included) to `end`
/// (excluded), both Unix seconds of a day's start.
pub fn totals(c: &Connection, start: i64, end: i64) -> Result<(i64, i64)> {
    let views: i64 = c.query_row(
        "SELECT coalesce(sum(views), 0) FROM faq_views WHERE day >= ?1 AND day < ?2",
        params![start, end],
        |r| r.get(0),
    )?;
    let chats: i64 = c.query_row(
        "SELECT coalesce(sum(chats), 0) FROM faq_chats WHERE day >= ?1 AND day < ?2",
        params![start, end],
        |r| r.get(0),
    )?;
    Ok((views, chats))
}

/// The most opened answers of the period (`limit` at most): the entry's question (English,
/// else German; `#id` for a removed entry) and its views, most first.
pub fn top(c: &Connection, start: i64, end: i64, limit: usize) -> Result<Vec<(String, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT v.faq_id, coalesce(nullif(f.question_en, ''), f.question_de), sum(v.views) AS n
         FROM faq_views v LEFT JOIN faqs f ON f.id = v.faq_id
         WHERE v.day >= ?1 AND v.day < ?2
         GROUP BY v.faq_id ORDER BY n DESC, v.faq_id LIMIT ?3",
    )?;
    let rows = st.query_map(params![start, end, limit as i64], |r| {
        let id: i64 = r.get(0)?;
        let q: Option<String> = r.get(1)?;
        Ok((q.unwrap_or_else(|| format!("#{id}")), r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::migrations::apply(&mut c, crate::store::migrations::TENANT).unwrap();
        c
    }

    fn entry(q: &str) -> Entry {
        Entry {
            question_en: q.into(),
            answer_en: "A".into(),
            ..Default::default()
        }
    }

    #[test]
    fn views_count_per_day_only_for_the_sites_own_entries() {
        let c = db();
        let a = insert(&c, "s1", &entry("Shipping?"), 0).unwrap();
        let b = insert(&c, "s2", &entry("Returns?"), 0).unwrap();
        assert!(count_view(&c, "s1", a, 100).unwrap());
        assert!(count_view(&c, "s1", a, 200).unwrap());
        assert!(
            !count_view(&c, "s1", b, 300).unwrap(),
            "another site's entry"
        );
        assert!(count_view(&c, "s2", b, DAY + 5).unwrap());
        count_chat(&c, "s1", 400).unwrap();
        assert_eq!(totals(&c, 0, DAY).unwrap(), (2, 1));
        assert_eq!(totals(&c, 0, 2 * DAY).unwrap(), (3, 1));
        assert_eq!(
            top(&c, 0, 2 * DAY, 10).unwrap(),
            vec![("Shipping?".to_string(), 2), ("Returns?".to_string(), 1)]
        );
        delete(&c, "s1", a).unwrap();
        assert_eq!(top(&c, 0, DAY, 10).unwrap()[0].0, format!("#{a}"));
    }
}
