//! Reading rows, the same way in every store module: a query's rows into a vector, each row
//! through a callback, a unique-constraint failure as a conflict, and [`from_row!`], which
//! builds a struct from a row whose columns are its fields in order.

use crate::error::{Error, Result};
use rusqlite::{Connection, Params, Row, Statement, ToSql, params_from_iter};

/// Builds `Type { field, … }` from a row whose columns are the listed fields, in the order
/// listed (which need not be the struct's). `field = convert` passes the column's value
/// through the function `convert` first. Returns early with the row's error, like `?`.
///
/// `from_row!(r => NoteRow { id, agent_id, body, created_at })`;
/// `from_row!(r, 1 => FileRef { … })` starts at column 1.
macro_rules! from_row {
    ($row:expr => $ty:ident { $($field:ident $(= $convert:path)?),+ $(,)? }) => {
        from_row!($row, 0 => $ty { $($field $(= $convert)?),+ })
    };
    ($row:expr, $first:expr => $ty:ident { $($field:ident $(= $convert:path)?),+ $(,)? }) => {{
        let row: &rusqlite::Row<'_> = $row;
        let mut _column: usize = $first;
        $ty {
            $($field: {
                let value = row.get(_column)?;
                _column += 1;
                $(let value = $convert(value);)?
                value
            },)+
        }
    }};
}

/// Every row of `sql`, mapped by `f`, collected into a `Vec` (or a set or map) in the order
/// the query gives them (a statement prepared for this call only).
pub(crate) fn all<T, Rows: FromIterator<T>>(
    c: &Connection,
    sql: &str,
    p: impl Params,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Rows> {
    collect(&mut c.prepare(sql)?, p, f)
}

/// [`all`] through the connection's statement cache: for queries that run often (the hub's,
/// the dashboard's).
pub(crate) fn all_cached<T, Rows: FromIterator<T>>(
    c: &Connection,
    sql: &str,
    p: impl Params,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Rows> {
    collect(&mut *c.prepare_cached(sql)?, p, f)
}

fn collect<T, Rows: FromIterator<T>>(
    stmt: &mut Statement<'_>,
    p: impl Params,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Rows> {
    Ok(stmt.query_map(p, f)?.collect::<rusqlite::Result<_>>()?)
}

/// Runs `f` on every row of `sql` in turn, for rows that are folded into something rather
/// than collected.
pub(crate) fn each(
    c: &Connection,
    sql: &str,
    p: impl Params,
    mut f: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(p)?;
    while let Some(r) = rows.next()? {
        f(r)?;
    }
    Ok(())
}

/// Parameters `?1` = `first` (an id, a time), then the columns of a row as `?2`, `?3` …: an
/// insert and an update of the same row share one list of its columns.
pub(crate) fn first_then<'a, const N: usize>(
    first: &'a dyn ToSql,
    columns: [&'a dyn ToSql; N],
) -> impl Params + 'a {
    params_from_iter(std::iter::once(first).chain(columns))
}

/// A failed write as the caller should see it: a unique constraint that refused it is a
/// conflict (`message` says with what), anything else a database error.
pub(crate) fn conflict(e: rusqlite::Error, message: impl FnOnce() -> String) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => Error::Conflict(message()),
        _ => e.into(),
    }
}
