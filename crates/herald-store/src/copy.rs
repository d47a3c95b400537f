//! Copying a whole store into another, empty one, on either engine: `herald copy`, for an
//! operator who moves from a SQLite file to PostgreSQL (or back).
//!
//! Every table is copied, rows as they are (ids, sequence numbers, leases and the store's
//! identity included, so delivery ids, `webhook-id`s and API keys mean the same in the
//! copy), read from one snapshot of the source in batches and written in one transaction
//! on the target, which is refused, unwritten, when it already holds data; only the
//! console's sessions stay behind, and a browser signs in to the copy again. The engines'
//! columns differ only in type (a flag is `BOOLEAN` on PostgreSQL and 0 or 1 on SQLite, a
//! key's hash `BYTEA` or `BLOB`), which sqlx converts, and in `api_keys.seq`, which stands
//! on PostgreSQL for SQLite's `rowid`: keys are read in the order they were made and
//! written in that order, so either numbering follows it. PostgreSQL's identity sequences
//! are then set past the greatest id copied, so the next row made gets a new one.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Row, Type};

use crate::engine::{on_pool, on_tx, Engine, Tx};
use crate::error::StoreError;
use crate::store::Store;

/// What a copy wrote: the rows of each table, in the order copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopySummary {
    /// Each table copied, and how many rows it holds in the copy.
    pub tables: Vec<(&'static str, u64)>,
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target already holds rows; nothing was written.
    #[error("the target already holds data ({}); copy into a new SQLite file or an empty PostgreSQL database or schema", shown(.0))]
    TargetNotEmpty(Vec<(&'static str, u64)>),
    /// The source has a table this build does not know how to copy.
    #[error("the source has table {0:?}, which this herald does not know how to copy; use the herald that wrote it")]
    UnknownTable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn shown(tables: &[(&'static str, u64)]) -> String {
    tables
        .iter()
        .map(|(name, rows)| format!("{name}: {rows} {}", if *rows == 1 { "row" } else { "rows" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a column's values are read and written.
#[derive(Clone, Copy)]
enum Kind {
    /// Text, perhaps NULL.
    Text,
    /// An integer, perhaps NULL.
    Int,
    /// A flag: `BOOLEAN` on PostgreSQL, 0 or 1 on SQLite.
    Flag,
    /// Bytes: `BYTEA` on PostgreSQL, a `BLOB` on SQLite.
    Bytes,
}

use Kind::{Bytes, Flag, Int, Text};

/// The order a table's rows are read in.
#[derive(Clone, Copy)]
enum Order {
    /// By these columns.
    By(&'static str),
    /// In the order the rows were made: `rowid` on SQLite, `seq` on PostgreSQL.
    Made,
}

/// A table copied row for row.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    order: Order,
}

/// Every table of the schema but the two one-row ones (`directory_state` and
/// `store_identity`, which a migrated target already holds), each after the tables its
/// rows refer to.
const TABLES: &[Table] = &[
    Table {
        name: "products",
        columns: &[("id", Text), ("body", Text)],
        order: Order::By("id"),
    },
    Table {
        name: "partners",
        columns: &[("id", Text), ("cloud", Text), ("body", Text)],
        order: Order::By("id"),
    },
    Table {
        name: "customers",
        columns: &[("id", Text), ("cloud", Text), ("body", Text)],
        order: Order::By("id"),
    },
    Table {
        name: "subscriptions",
        columns: &[("id", Text), ("customer", Text), ("body", Text)],
        order: Order::By("id"),
    },
    Table {
        name: "messages",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("cloud", Text),
            ("category", Text),
            ("policy_version", Text),
            ("scope_rule", Text),
            ("request", Text),
            ("accepted_at", Int),
            ("customers_in_scope", Int),
            ("customers_direct", Int),
            ("partners_told", Int),
            ("deliveries", Int),
            ("thread", Text),
            ("status", Text),
            ("broadcast", Flag),
        ],
        order: Order::By("seq"),
    },
    Table {
        name: "threads",
        columns: &[
            ("cloud", Text),
            ("id", Text),
            ("category", Text),
            ("status", Text),
            ("opened_at", Int),
            ("updated_at", Int),
            ("head", Int),
            ("updates", Int),
        ],
        order: Order::By("cloud, id"),
    },
    Table {
        name: "decision_batches",
        columns: &[
            ("id", Int),
            ("message", Int),
            ("first_customer", Text),
            ("customers", Int),
            ("body", Text),
        ],
        order: Order::By("id"),
    },
    Table {
        name: "partner_copies",
        columns: &[
            ("id", Int),
            ("message", Int),
            ("partner", Text),
            ("customers", Text),
            ("subscriptions", Text),
        ],
        order: Order::By("id"),
    },
    Table {
        name: "customer_copies",
        columns: &[("customer", Text), ("message", Int)],
        order: Order::By("customer, message"),
    },
    Table {
        name: "inbox_reads",
        columns: &[
            ("cloud", Text),
            ("reader_kind", Text),
            ("reader", Text),
            ("message", Int),
            ("read_at", Int),
        ],
        order: Order::By("cloud, reader_kind, reader, message"),
    },
    Table {
        name: "delivery_batches",
        columns: &[
            ("id", Int),
            ("message", Int),
            ("recipient", Text),
            ("channel", Text),
            ("deliveries", Int),
            ("body", Text),
            ("status", Text),
            ("due_at", Int),
            ("lease_until", Int),
        ],
        order: Order::By("id"),
    },
    Table {
        name: "delivery_attempts",
        columns: &[
            ("delivery", Int),
            ("attempt", Int),
            ("at", Int),
            ("latency_us", Int),
            ("outcome", Text),
            ("code", Int),
            ("reply", Text),
            ("error", Text),
        ],
        order: Order::By("delivery, attempt"),
    },
    Table {
        name: "delivery_retries",
        columns: &[
            ("delivery", Int),
            ("batch", Int),
            ("status", Text),
            ("attempts", Int),
            ("due_at", Int),
            ("lease_until", Int),
            ("last_error", Text),
        ],
        order: Order::By("delivery"),
    },
    Table {
        name: "endpoints",
        columns: &[
            ("id", Text),
            ("cloud", Text),
            ("owner_kind", Text),
            ("owner", Text),
            ("url", Text),
            ("description", Text),
            ("categories", Text),
            ("mode", Text),
            ("created_at", Int),
            ("disabled_at", Int),
            ("disabled_reason", Text),
        ],
        order: Order::By("id"),
    },
    Table {
        name: "endpoint_secrets",
        columns: &[
            ("id", Int),
            ("endpoint", Text),
            ("created_at", Int),
            ("secret", Text),
            ("expires_at", Int),
        ],
        order: Order::By("id"),
    },
    Table {
        name: "api_keys",
        columns: &[
            ("id", Text),
            ("hash", Bytes),
            ("principal", Text),
            ("cloud", Text),
            ("subject", Text),
            ("created_at", Int),
            ("revoked_at", Int),
        ],
        order: Order::Made,
    },
    Table {
        name: "audit",
        columns: &[
            ("seq", Int),
            ("at", Int),
            ("cloud", Text),
            ("principal", Text),
            ("principal_cloud", Text),
            ("subject", Text),
            ("key_id", Text),
            ("action", Text),
            ("target", Text),
            ("detail", Text),
        ],
        order: Order::By("seq"),
    },
];

/// The tables of one row each, which every migrated store holds, copied by updating the
/// target's row: the directory's generation and the store's identity.
const SINGLE_ROWS: &[(&str, &str, Kind)] = &[
    ("directory_state", "generation", Int),
    ("store_identity", "name", Text),
];

/// Tables that are the engine's or the migrator's own, not the store's.
const NOT_COPIED: &[&str] = &["_sqlx_migrations", "sqlite_sequence"];

/// Tables left behind: the console's sessions belong to the browsers signed in to the
/// source, which sign in again to the copy.
const LEFT_BEHIND: &[&str] = &["console_sessions"];

/// The most values one `INSERT` binds (SQLite allows 32,766, PostgreSQL 65,535).
const MOST_VALUES: usize = 30_000;

/// The most bytes of text one `INSERT` carries, so a table of large JSON bodies is written
/// a few megabytes at a time.
const MOST_BYTES: usize = 8 << 20;

/// One value of a row being copied.
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Flag(bool),
    Bytes(Vec<u8>),
}

impl Value {
    fn size(&self) -> usize {
        match self {
            Value::Text(text) => text.as_ref().map_or(0, String::len),
            Value::Bytes(bytes) => bytes.len(),
            Value::Int(_) | Value::Flag(_) => 8,
        }
    }
}

/// Copies every row of `from` into `to`, which must hold none (both stores opened, so
/// both migrated to this build's schema). The target is written in one transaction: on
/// any error, or when it already holds data, it is left as it was.
pub async fn copy(from: &Store, to: &Store) -> Result<CopySummary, CopyError> {
    check_tables(from).await?;
    let (_turn, mut target) = to.begin_write().await?;
    let held = rows_held(&mut target).await?;
    if !held.is_empty() {
        target.rollback().await?;
        return Err(CopyError::TargetNotEmpty(held));
    }
    let mut source = snapshot(from).await?;
    let mut summary = CopySummary::default();
    for table in TABLES {
        let rows = copy_table(&mut source, &mut target, table).await?;
        summary.tables.push((table.name, rows));
    }
    for &(table, column, kind) in SINGLE_ROWS {
        copy_single_row(&mut source, &mut target, table, column, kind).await?;
    }
    continue_identities(&mut target).await?;
    source.rollback().await?;
    target.commit().await?;
    Ok(summary)
}

/// Refuses a source with a table this build does not copy, rather than leave it behind.
async fn check_tables(from: &Store) -> Result<(), CopyError> {
    let list = match from.engine() {
        Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Engine::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    let names: Vec<String> = on_pool!(from.pool(), |exe| sqlx::query_scalar(list)
        .fetch_all(exe)
        .await)
    .map_err(StoreError::from)?;
    let known: BTreeSet<&str> = TABLES
        .iter()
        .map(|t| t.name)
        .chain(SINGLE_ROWS.iter().map(|(name, ..)| *name))
        .chain(NOT_COPIED.iter().copied())
        .chain(LEFT_BEHIND.iter().copied())
        .collect();
    match names
        .into_iter()
        .find(|name| !known.contains(name.as_str()))
    {
        Some(unknown) => Err(CopyError::UnknownTable(unknown)),
        None => Ok(()),
    }
}

impl Store {
    /// The tables of the store that hold rows, with how many (none for a new store; the
    /// one-row tables every store holds are not counted).
    pub async fn tables_with_rows(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let held = rows_held(&mut tx).await?;
        tx.rollback().await?;
        Ok(held)
    }
}

/// A transaction reading one snapshot of `from`, writing nothing.
async fn snapshot(from: &Store) -> Result<Tx, StoreError> {
    let mut tx = from.pool().begin().await?;
    if let Tx::Postgres(c) = &mut tx {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut **c)
            .await?;
    }
    Ok(tx)
}

/// The tables of `tx`'s database that hold rows, with how many.
async fn rows_held(tx: &mut Tx) -> Result<Vec<(&'static str, u64)>, StoreError> {
    let mut held = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT count(*) FROM {}", table.name);
        let rows: i64 = on_tx!(tx, |exe| sqlx::query_scalar(&sql)
            .fetch_one(&mut **exe)
            .await)?;
        if rows > 0 {
            held.push((table.name, rows as u64));
        }
    }
    Ok(held)
}

/// Copies every row of `table`, a batch at a time, and says how many.
async fn copy_table(source: &mut Tx, target: &mut Tx, table: &Table) -> Result<u64, StoreError> {
    let order = match (table.order, source.engine()) {
        (Order::By(columns), _) => columns,
        (Order::Made, Engine::Sqlite) => "rowid",
        (Order::Made, Engine::Postgres) => "seq",
    };
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let select = format!(
        "SELECT {} FROM {} ORDER BY {order}",
        names.join(", "),
        table.name
    );
    let per_insert = MOST_VALUES / table.columns.len();
    let mut copied = 0;
    on_tx!(source, |exe| {
        let mut rows = sqlx::query(&select).fetch(&mut **exe);
        let (mut batch, mut bytes) = (Vec::new(), 0);
        while let Some(row) = rows.try_next().await? {
            let values = read_row(&row, table.columns)?;
            bytes += values.iter().map(Value::size).sum::<usize>();
            batch.push(values);
            if batch.len() == per_insert || bytes >= MOST_BYTES {
                insert(target, table, &batch).await?;
                copied += batch.len() as u64;
                (batch, bytes) = (Vec::new(), 0);
            }
        }
        insert(target, table, &batch).await?;
        copied += batch.len() as u64;
    });
    Ok(copied)
}

/// The values of `row`, read as `columns` says.
fn read_row<'r, R>(row: &'r R, columns: &[(&str, Kind)]) -> Result<Vec<Value>, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Text => Value::Text(row.try_get(i)?),
                Int => Value::Int(row.try_get(i)?),
                Flag => Value::Flag(row.try_get(i)?),
                Bytes => Value::Bytes(row.try_get(i)?),
            })
        })
        .collect()
}

/// Inserts `rows` of `table` with one statement.
async fn insert(target: &mut Tx, table: &Table, rows: &[Vec<Value>]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = table.columns.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| {
            let params: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        names.join(", "),
        tuples.join(", ")
    );
    on_tx!(target, |exe| rows
        .iter()
        .flatten()
        .fold(sqlx::query(&sql), bind)
        .execute(&mut **exe)
        .await
        .map(drop))?;
    Ok(())
}

/// `query` with `value` bound to its next placeholder.
fn bind<'q, DB>(
    query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    value: &'q Value,
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    match value {
        Value::Text(text) => query.bind(text.as_deref()),
        Value::Int(int) => query.bind(*int),
        Value::Flag(flag) => query.bind(*flag),
        Value::Bytes(bytes) => query.bind(bytes.as_slice()),
    }
}

/// Sets the target's row of the one-row `table` to the source's `column`.
async fn copy_single_row(
    source: &mut Tx,
    target: &mut Tx,
    table: &str,
    column: &str,
    kind: Kind,
) -> Result<(), StoreError> {
    let select = format!("SELECT {column} FROM {table} WHERE id = 1");
    let values = on_tx!(source, |exe| {
        let row = sqlx::query(&select).fetch_one(&mut **exe).await?;
        read_row(&row, &[(column, kind)])?
    });
    let update = format!("UPDATE {table} SET {column} = $1 WHERE id = 1");
    on_tx!(target, |exe| values
        .iter()
        .fold(sqlx::query(&update), bind)
        .execute(&mut **exe)
        .await
        .map(drop))?;
    Ok(())
}

/// Sets every identity sequence of a PostgreSQL target past the greatest value its column
/// holds, as rows copied with their ids did not draw from it. (SQLite draws the next id
/// from the greatest one a table holds.)
async fn continue_identities(target: &mut Tx) -> Result<(), StoreError> {
    let Tx::Postgres(c) = target else {
        return Ok(());
    };
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut **c)
    .await?;
    for (table, column) in identities {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max({column}), 0) + 1, false) \
             FROM {table}"
        ))
        .bind(&table)
        .bind(&column)
        .execute(&mut **c)
        .await?;
    }
    Ok(())
}
