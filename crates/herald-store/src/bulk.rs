//! Bulk inserts through SQLite's C interface: one prepared statement, bound and stepped
//! once per row, on the connection of a transaction the caller holds.
//!
//! A million-customer incident writes millions of rows. sqlx sends every statement to a
//! worker thread and copies every bound value; for bulk rows that dominates the cost. Here
//! the rows are bound in place on the connection's own handle, which sqlx lends (and keeps
//! locked) while the transaction is open, so the writes stay inside that transaction.
//!
//! Soundness rests on two borrows: [`insert`] holds the lent handle mutably for as long as
//! its statement lives, so nothing else uses the connection, and the statement cannot
//! outlive the rows (`'a`) whose text SQLite reads in place.

use std::ffi::{c_int, c_uchar, CStr};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;
use sqlx::sqlite::LockedSqliteHandle;

/// A failure reported by SQLite, with its message.
#[derive(Debug, thiserror::Error)]
#[error("SQLite: {0}")]
pub struct SqliteError(pub String);

/// A prepared statement; text bound to it lives at least as long as it does (`'a`).
pub struct Statement<'a> {
    db: NonNull<ffi::sqlite3>,
    raw: NonNull<ffi::sqlite3_stmt>,
    bound: PhantomData<&'a str>,
}

fn error(db: NonNull<ffi::sqlite3>) -> SqliteError {
    // SAFETY: `db` is a live connection handle; the message is copied before any other call.
    let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr())) };
    SqliteError(message.to_string_lossy().into_owned())
}

impl<'a> Statement<'a> {
    fn prepare(db: NonNull<ffi::sqlite3>, sql: &str) -> Result<Statement<'a>, SqliteError> {
        let length = c_int::try_from(sql.len())
            .map_err(|_| SqliteError("a statement is too long".into()))?;
        let mut raw = ptr::null_mut();
        // SAFETY: `db` is a live handle lent to our caller; `sql` is passed with its length,
        // so it needs no NUL.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                db.as_ptr(),
                sql.as_ptr().cast(),
                length,
                &mut raw,
                ptr::null_mut(),
            )
        };
        match NonNull::new(raw) {
            Some(raw) if rc == ffi::SQLITE_OK => Ok(Statement {
                db,
                raw,
                bound: PhantomData,
            }),
            _ => Err(error(db)),
        }
    }

    fn check(&self, rc: c_int) -> Result<(), SqliteError> {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(error(self.db))
        }
    }

    /// Binds text to parameter `i` (from 1); SQLite reads it in place until the statement ends.
    pub fn text(&mut self, i: c_int, value: &'a str) -> Result<(), SqliteError> {
        // SAFETY: the statement is live; SQLITE_STATIC lets SQLite read the bytes in place,
        // which is sound because `value` outlives the statement (`'a`). The length is
        // passed as 64 bits, so no length is truncated.
        let rc = unsafe {
            ffi::sqlite3_bind_text64(
                self.raw.as_ptr(),
                i,
                value.as_ptr().cast(),
                value.len() as u64,
                ffi::SQLITE_STATIC(),
                ffi::SQLITE_UTF8 as c_uchar,
            )
        };
        self.check(rc)
    }

    /// Binds text or NULL to parameter `i`.
    pub fn optional_text(&mut self, i: c_int, value: Option<&'a str>) -> Result<(), SqliteError> {
        match value {
            Some(v) => self.text(i, v),
            // SAFETY: the statement is live.
            None => self.check(unsafe { ffi::sqlite3_bind_null(self.raw.as_ptr(), i) }),
        }
    }

    /// Binds an integer to parameter `i`.
    pub fn int(&mut self, i: c_int, value: i64) -> Result<(), SqliteError> {
        // SAFETY: the statement is live.
        self.check(unsafe { ffi::sqlite3_bind_int64(self.raw.as_ptr(), i, value) })
    }

    /// Runs the statement once with the bound values, then makes it ready for the next row.
    fn run(&mut self) -> Result<(), SqliteError> {
        // SAFETY: the statement is live; reset keeps the bindings for the caller to replace.
        unsafe {
            let rc = ffi::sqlite3_step(self.raw.as_ptr());
            let reset = ffi::sqlite3_reset(self.raw.as_ptr());
            if rc != ffi::SQLITE_DONE {
                return Err(error(self.db));
            }
            self.check(reset)
        }
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement is live and finalized exactly once.
        unsafe {
            ffi::sqlite3_finalize(self.raw.as_ptr());
        }
    }
}

/// Inserts `rows` with `sql` (one `?N` per column) on the lent connection, binding each row
/// with `bind`.
pub fn insert<'a, T>(
    handle: &mut LockedSqliteHandle<'_>,
    sql: &str,
    rows: &'a [T],
    mut bind: impl FnMut(&mut Statement<'a>, &'a T) -> Result<(), SqliteError>,
) -> Result<(), SqliteError> {
    let mut statement = Statement::prepare(handle.as_raw_handle(), sql)?;
    for row in rows {
        bind(&mut statement, row)?;
        statement.run()?;
    }
    Ok(())
}
