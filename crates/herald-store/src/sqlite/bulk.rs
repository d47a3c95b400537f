//! Bulk writes through SQLite's C interface: one prepared statement, bound and stepped
//! once per row, on the connection of a transaction the caller holds.
//!
//! A million-customer incident writes millions of rows. sqlx sends every statement to a
//! worker thread and copies every bound value; for bulk rows that dominates the cost. Here
//! the rows are bound in place on the connection's own handle, which sqlx lends (and keeps
//! locked) while the transaction is open, so the writes stay inside that transaction.
//!
//! Soundness rests on two borrows: a [`Connection`] holds the lent handle mutably for as
//! long as it lives, and its statements cannot outlive it, so nothing else uses the
//! connection meanwhile; and [`Statement::insert`] binds a
//! row's text in place only for the duration of that row's insert, clearing every binding
//! before it returns, so SQLite never holds a pointer to text that may be gone.

use std::ffi::{c_int, c_uchar, CStr};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;
use sqlx::sqlite::LockedSqliteHandle;

use crate::error::SqliteError;

/// The connection sqlx lends (`'h`), held exclusively while statements run on it.
pub struct Connection<'h> {
    db: NonNull<ffi::sqlite3>,
    lent: PhantomData<&'h mut ()>,
}

/// A prepared statement on a [`Connection`] (`'c`).
pub struct Statement<'c> {
    db: NonNull<ffi::sqlite3>,
    raw: NonNull<ffi::sqlite3_stmt>,
    connection: PhantomData<&'c ()>,
}

/// The parameters of one row, bound to text that lives at least as long as the row is
/// being inserted (`'r`).
pub struct Binder<'s, 'r> {
    statement: &'s Statement<'s>,
    text: PhantomData<&'r str>,
}

fn error(db: NonNull<ffi::sqlite3>) -> SqliteError {
    // SAFETY: `db` is a live connection handle; the message is copied before any other call.
    let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr())) };
    SqliteError(message.to_string_lossy().into_owned())
}

fn check(db: NonNull<ffi::sqlite3>, rc: c_int) -> Result<(), SqliteError> {
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(error(db))
    }
}

impl<'h> Connection<'h> {
    /// The connection `handle` lends, borrowed for as long as this lives.
    pub fn new(handle: &'h mut LockedSqliteHandle<'_>) -> Connection<'h> {
        Connection {
            db: handle.as_raw_handle(),
            lent: PhantomData,
        }
    }

    /// Prepares `sql`; the statement cannot outlive the connection.
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>, SqliteError> {
        let db = self.db;
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
                connection: PhantomData,
            }),
            _ => Err(error(db)),
        }
    }
}

impl Statement<'_> {
    /// Inserts one row: `bind` binds its values, the statement runs once, and every binding
    /// is cleared again before this returns, so SQLite keeps no pointer into the row.
    pub fn insert<'r>(
        &mut self,
        bind: impl FnOnce(&mut Binder<'_, 'r>) -> Result<(), SqliteError>,
    ) -> Result<(), SqliteError> {
        self.execute(bind).map(drop)
    }

    /// Runs the statement once with the values `bind` binds, as [`Statement::insert`]
    /// does, and says how many rows it changed: none for an insert that met a conflict it
    /// was told to ignore.
    pub fn execute<'r>(
        &mut self,
        bind: impl FnOnce(&mut Binder<'_, 'r>) -> Result<(), SqliteError>,
    ) -> Result<u64, SqliteError> {
        let bound = bind(&mut Binder {
            statement: self,
            text: PhantomData,
        });
        // SAFETY: the statement is live. Whatever `bind` did, the step (when binding
        // succeeded), the reset and the clearing of the bindings all happen before the
        // borrowed text (`'r`) may go away. The count of changes is read before anything
        // else runs on the connection.
        unsafe {
            let stepped = match bound {
                Ok(()) => match ffi::sqlite3_step(self.raw.as_ptr()) {
                    ffi::SQLITE_DONE => Ok(ffi::sqlite3_changes64(self.db.as_ptr()) as u64),
                    _ => Err(error(self.db)),
                },
                Err(e) => Err(e),
            };
            let reset = ffi::sqlite3_reset(self.raw.as_ptr());
            ffi::sqlite3_clear_bindings(self.raw.as_ptr());
            let changed = stepped?;
            check(self.db, reset)?;
            Ok(changed)
        }
    }
}

impl<'r> Binder<'_, 'r> {
    /// Binds text to parameter `i` (from 1); SQLite reads it in place while the row is
    /// inserted.
    pub fn text(&mut self, i: c_int, value: &'r str) -> Result<(), SqliteError> {
        let st = self.statement;
        // SAFETY: the statement is live; SQLITE_STATIC lets SQLite read the bytes in place,
        // which is sound because `value` outlives the insert of this row (`'r`), after
        // which the binding is cleared. The length is passed as 64 bits, so none is
        // truncated.
        let rc = unsafe {
            ffi::sqlite3_bind_text64(
                st.raw.as_ptr(),
                i,
                value.as_ptr().cast(),
                value.len() as u64,
                ffi::SQLITE_STATIC(),
                ffi::SQLITE_UTF8 as c_uchar,
            )
        };
        check(st.db, rc)
    }

    /// Binds an integer to parameter `i`.
    pub fn int(&mut self, i: c_int, value: i64) -> Result<(), SqliteError> {
        let st = self.statement;
        // SAFETY: the statement is live.
        check(st.db, unsafe {
            ffi::sqlite3_bind_int64(st.raw.as_ptr(), i, value)
        })
    }

    /// Binds text to parameter `i`, or NULL when there is none.
    pub fn text_or_null(&mut self, i: c_int, value: Option<&'r str>) -> Result<(), SqliteError> {
        match value {
            Some(value) => self.text(i, value),
            None => self.null(i),
        }
    }

    /// Binds an integer to parameter `i`, or NULL when there is none.
    pub fn int_or_null(&mut self, i: c_int, value: Option<i64>) -> Result<(), SqliteError> {
        match value {
            Some(value) => self.int(i, value),
            None => self.null(i),
        }
    }

    fn null(&mut self, i: c_int) -> Result<(), SqliteError> {
        let st = self.statement;
        // SAFETY: the statement is live.
        check(st.db, unsafe { ffi::sqlite3_bind_null(st.raw.as_ptr(), i) })
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
pub fn insert<'r, T>(
    connection: &Connection<'_>,
    sql: &str,
    rows: &'r [T],
    mut bind: impl FnMut(&mut Binder<'_, 'r>, &'r T) -> Result<(), SqliteError>,
) -> Result<(), SqliteError> {
    let mut statement = connection.prepare(sql)?;
    for row in rows {
        statement.insert(|b| bind(b, row))?;
    }
    Ok(())
}
