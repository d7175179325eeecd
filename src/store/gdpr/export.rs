//! The person's data as they may ask for it (Art. 15, 20): the dashboard's overview of what
//! was found, and the export archive (one JSON document, a readable transcript per chat, the
//! files sent).

use super::subject::{By, Subject, counts, list, resolve};
use crate::error::{Error, Result};
use crate::store::{archive, chat};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params_from_iter};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Columns never exported: security hashes that mean nothing to the person and would weaken
/// the tokens they protect.
const SECRET_COLUMNS: [&str; 3] = ["visitor_token_hash", "vid_hash", "data"];

/// Rows as JSON objects (every column but the secret ones; other blobs as hex).
fn rows(c: &Connection, sql: &str, p: &[i64]) -> Result<Vec<Value>> {
    let mut stmt = c.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let mut q = stmt.query(params_from_iter(p))?;
    while let Some(r) = q.next()? {
        let mut o = Map::new();
        for (i, name) in names.iter().enumerate() {
            if SECRET_COLUMNS.contains(&name.as_str()) {
                continue;
            }
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => json!(n),
                ValueRef::Real(f) => json!(f),
                ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                ValueRef::Blob(b) => {
                    json!(crate::crypto::hex(b))
                }
            };
            o.insert(name.clone(), v);
        }
        out.push(Value::Object(o));
    }
    Ok(out)
}

/// The rows of `table` with these ids, every column (but the secret ones), by id.
fn every_column(c: &Connection, table: &str, ids: &BTreeSet<i64>) -> Result<Vec<Value>> {
    let sql = format!(
        "SELECT * FROM {table} WHERE id IN ({}) ORDER BY id",
        list(ids)
    );
    rows(c, &sql, &[])
}

/// The rows of `table` that belong to the row `id` through `parent`, every column, by id.
fn children(c: &Connection, table: &str, parent: &str, id: i64) -> Result<Vec<Value>> {
    let sql = format!("SELECT * FROM {table} WHERE {parent} = ?1 ORDER BY id");
    rows(c, &sql, &[id])
}

/// Everything found, as the dashboard lists it.
pub fn find(c: &Connection, by: &By) -> Result<Value> {
    let s = resolve(c, by)?;
    let k = list(&s.conversations);
    let v = list(&s.visitors);
    Ok(json!({
        "subject": by,
        "counts": counts(c, &s)?,
        "conversations": rows(c, &format!(
            "SELECT id, created_at, status, visitor_name, visitor_email, consent_at,
                    consent_version,
                    (SELECT count(*) FROM messages WHERE conversation_id = k.id) AS messages,
                    (SELECT count(*) FROM conversation_fields WHERE conversation_id = k.id)
                        AS form_fields
             FROM conversations k WHERE id IN ({k}) ORDER BY id"), &[])?,
        "offline_messages": rows(c, &format!(
            "SELECT id, created_at, name, email FROM offline_messages WHERE id IN ({})
             ORDER BY id", list(&s.offline)), &[])?,
        "mails": rows(c, &format!(
            "SELECT id, created_at, kind, recipient, subject, state FROM outbox WHERE id IN ({})
             ORDER BY id", list(&s.mails)), &[])?,
        "visitors": rows(c, &format!(
            "SELECT id, mode, first_seen, last_seen,
                    (SELECT count(*) FROM visits WHERE visitor_id = v.id) AS visits
             FROM visitors v WHERE id IN ({v}) ORDER BY id"), &[])?,
    }))
}

/// A file of the export archive.
pub struct ArchiveFile {
    /// Path inside the archive.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

pub(super) fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|ch| {
            if ch.is_alphanumeric() || ".-_".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    s.trim_start_matches('.').to_string()
}

fn transcript_html(c: &Connection, conv: &Value, messages: &[Value]) -> Result<String> {
    use crate::i18n::escape_html as e;
    let id = conv["id"].as_i64().unwrap_or(0);
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Chat {id}</title>\
         <style>body{{font:15px/1.5 sans-serif;max-width:48em;margin:2em auto}}\
         .m{{margin:.5em 0}}.t{{color:#555;font-size:.85em}}</style></head><body>\n\
         <h1>Chat {id}</h1>\n<p>{} &lt;{}&gt; · {}</p>\n",
        e(conv["visitor_name"].as_str().unwrap_or("")),
        e(conv["visitor_email"].as_str().unwrap_or("")),
        e(&crate::clock::rfc3339(
            conv["created_at"].as_i64().unwrap_or(0)
        )),
    );
    for m in messages {
        let who = match m["author"].as_str() {
            Some("visitor") => conv["visitor_name"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("Visitor / Besucher")
                .to_string(),
            Some("agent") => chat::agent_name(c, m["agent_id"].as_i64().unwrap_or(0))?,
            _ => "kontor".to_string(),
        };
        html.push_str(&format!(
            "<div class=\"m\"><span class=\"t\">{}</span> <strong>{}</strong>: {}</div>\n",
            e(&crate::clock::rfc3339(
                m["created_at"].as_i64().unwrap_or(0)
            )),
            e(&who),
            e(m["body"].as_str().unwrap_or("")),
        ));
    }
    html.push_str("</body></html>\n");
    Ok(html)
}

const README: &str = "kontor: data export (GDPR Art. 15 and 20)\n\
subject.json  everything stored about the person, machine-readable (format kontor-subject-export/1)\n\
transcripts/  each chat as a readable HTML page\n\
files/        the files sent in those chats\n\n\
kontor: Datenauskunft (DSGVO Art. 15 und 20)\n\
subject.json  alles, was über die Person gespeichert ist, maschinenlesbar\n\
transcripts/  jeder Chat als lesbare HTML-Seite\n\
files/        die in diesen Chats gesendeten Dateien\n";

/// The person's data: the JSON document and the archive's files (JSON, transcripts, files).
pub fn export(c: &Connection, by: &By, now: i64) -> Result<(Value, Vec<ArchiveFile>)> {
    let s = resolve(c, by)?;
    let mut files = Vec::new();
    let doc = json!({
        "format": "kontor-subject-export/1",
        "exported_at": crate::clock::rfc3339(now),
        "subject": by,
        "counts": counts(c, &s)?,
        "conversations": conversations(c, &s, &mut files)?,
        "offline_messages": every_column(c, "offline_messages", &s.offline)?,
        "mails": every_column(c, "outbox", &s.mails)?,
        "visitors": visitors(c, &s)?,
    });
    let mut all = vec![
        ArchiveFile {
            path: "README.txt".into(),
            bytes: README.as_bytes().to_vec(),
        },
        ArchiveFile {
            path: "subject.json".into(),
            bytes: serde_json::to_vec_pretty(&doc)
                .map_err(|e| Error::Internal(format!("export: {e}")))?,
        },
    ];
    all.extend(files);
    Ok((doc, all))
}

/// The person's chats, each with its messages, notes, pre-chat form values and files; adds each chat's transcript
/// and files to `files`.
fn conversations(c: &Connection, s: &Subject, files: &mut Vec<ArchiveFile>) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for mut conv in every_column(c, "conversations", &s.conversations)? {
        let id = conv["id"].as_i64().unwrap_or(0);
        let messages = rows(
            c,
            "SELECT * FROM messages WHERE conversation_id = ?1 ORDER BY seq",
            &[id],
        )?;
        let notes = children(c, "notes", "conversation_id", id)?;
        let fields = children(c, "conversation_fields", "conversation_id", id)?;
        let mut file_rows = children(c, "files", "conversation_id", id)?;
        for f in &mut file_rows {
            let fid = f["id"].as_i64().unwrap_or(0);
            let path = format!(
                "files/{fid}-{}",
                safe_name(f["name"].as_str().unwrap_or("file"))
            );
            let bytes: Vec<u8> =
                c.query_row("SELECT data FROM files WHERE id = ?1", [fid], |r| r.get(0))?;
            files.push(ArchiveFile {
                path: path.clone(),
                bytes,
            });
            f["archive_path"] = json!(path);
        }
        files.push(ArchiveFile {
            path: format!("transcripts/chat-{id}.html"),
            bytes: transcript_html(c, &conv, &messages)?.into_bytes(),
        });
        conv["messages"] = json!(messages);
        conv["notes"] = json!(notes);
        conv["form_fields"] = json!(fields);
        conv["files"] = json!(file_rows);
        out.push(conv);
    }
    Ok(out)
}

/// The person's visitor records, each with its visits and their page views, goals reached
/// and invitations.
fn visitors(c: &Connection, s: &Subject) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for mut visitor in every_column(c, "visitors", &s.visitors)? {
        let vid = visitor["id"].as_i64().unwrap_or(0);
        let mut visits = Vec::new();
        for mut visit in children(c, "visits", "visitor_id", vid)? {
            let id = visit["id"].as_i64().unwrap_or(0);
            visit["page_views"] = json!(rows(
                c,
                "SELECT v.id, v.at, v.seconds, p.url, p.title FROM page_views v
                 JOIN pages p ON p.id = v.page_id WHERE v.visit_id = ?1 ORDER BY v.id",
                &[id]
            )?);
            visit["conversions"] = json!(rows(
                c,
                "SELECT x.id, x.at, x.value_cents, g.name AS goal FROM conversions x
                 JOIN goals g ON g.id = x.goal_id WHERE x.visit_id = ?1 ORDER BY x.id",
                &[id]
            )?);
            visit["invitations"] = json!(children(c, "invitations", "visit_id", id)?);
            visits.push(visit);
        }
        visitor["visits"] = json!(visits);
        out.push(visitor);
    }
    Ok(out)
}

/// Writes the archive's files as a tar stream.
pub fn write_tar(files: &[ArchiveFile], out: impl std::io::Write, now: i64) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    for f in files {
        archive::append(&mut tar, &f.path, &f.bytes, now)
            .map_err(|e| Error::io("writing the export archive", e))?;
    }
    tar.into_inner()
        .map_err(|e| Error::io("writing the export archive", e))?;
    Ok(())
}
