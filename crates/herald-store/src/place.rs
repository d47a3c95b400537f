//! Where a store is, as an operator names it (`--db`, `HERALD_DB`, a configuration's `db`):
//! a PostgreSQL database by its `postgres://` (or `postgresql://`) URL, or else a SQLite
//! file by its path. A place is shown, in messages and logs, without the password a URL may
//! carry.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::engine::Engine;

/// Where a store is.
#[derive(Clone, PartialEq, Eq)]
pub enum Place {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL (`postgres://user@host:port/database`).
    Postgres(String),
}

impl Place {
    /// The place `text` names: a PostgreSQL URL when it starts with `postgres://` or
    /// `postgresql://`, else a SQLite file's path.
    pub fn parse(text: &str) -> Result<Place, String> {
        if text.is_empty() {
            return Err("names no database: give a SQLite file's path or a postgres:// URL".into());
        }
        if names_postgres(text) {
            Ok(Place::Postgres(text.to_owned()))
        } else {
            Ok(Place::Sqlite(PathBuf::from(text)))
        }
    }

    /// The engine a store at this place runs on.
    pub fn engine(&self) -> Engine {
        match self {
            Place::Sqlite(_) => Engine::Sqlite,
            Place::Postgres(_) => Engine::Postgres,
        }
    }

    /// The SQLite file's path, or `None` for a PostgreSQL database.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Place::Sqlite(path) => Some(path),
            Place::Postgres(_) => None,
        }
    }
}

/// Whether `text` names a PostgreSQL database: a `postgres://` or `postgresql://` URL.
pub(crate) fn names_postgres(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

impl std::str::FromStr for Place {
    type Err = String;

    fn from_str(text: &str) -> Result<Place, String> {
        Place::parse(text)
    }
}

impl<'de> Deserialize<'de> for Place {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Place, D::Error> {
        let text = String::deserialize(deserializer)?;
        Place::parse(&text).map_err(|e| serde::de::Error::custom(format!("`db` {e}")))
    }
}

/// The path, or the URL without its password.
impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Sqlite(path) => write!(f, "{}", path.display()),
            Place::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

/// As shown: a derived `Debug` would print a URL's password.
impl fmt::Debug for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Place::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

/// `url` without a password: `user:password@` becomes `user@`, and a `password` or
/// `sslpassword` parameter of its query is left out.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let mut shown = format!("{scheme}://");
    match before_query.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            shown.push_str(user);
            shown.push('@');
            shown.push_str(host);
        }
        None => shown.push_str(before_query),
    }
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
                !matches!(name, "password" | "sslpassword")
            })
            .collect();
        if !kept.is_empty() {
            shown.push('?');
            shown.push_str(&kept.join("&"));
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_postgres_and_anything_else_a_file() {
        for url in ["postgres://u@h/db", "postgresql://h:5432/db"] {
            assert_eq!(Place::parse(url).unwrap().engine(), Engine::Postgres);
        }
        for path in ["herald.db", "/var/lib/herald/postgres.db", "./postgres:/x"] {
            let place = Place::parse(path).unwrap();
            assert_eq!(place.file(), Some(Path::new(path)));
            assert_eq!(place.to_string(), path);
        }
        assert!(Place::parse("").is_err());
    }

    #[test]
    fn a_url_is_shown_without_its_password() {
        for (given, shown) in [
            (
                "postgres://herald:s3cret@db.example:5432/herald",
                "postgres://herald@db.example:5432/herald",
            ),
            (
                "postgresql://herald:p@ss@db/herald?sslmode=require&password=other",
                "postgresql://herald@db/herald?sslmode=require",
            ),
            ("postgres://db/herald?password=x", "postgres://db/herald"),
            (
                "postgres://postgres@127.0.0.1:5432/test?options=-csearch_path%3Ds",
                "postgres://postgres@127.0.0.1:5432/test?options=-csearch_path%3Ds",
            ),
        ] {
            let place = Place::parse(given).unwrap();
            assert_eq!(place.to_string(), shown);
            assert!(!format!("{place:?}").contains("s3cret"));
        }
    }
}
