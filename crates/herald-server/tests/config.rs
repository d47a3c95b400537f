//! The server's configuration: the file, then the environment and flags (already merged
//! by the command line), each overriding the one before, and clear errors.

use std::net::SocketAddr;
use std::path::PathBuf;

use herald_delivery::config::DeliverySettings;
use herald_server::config::{LogFormat, LogSettings, Settings, WebhookSettings};
use herald_server::ServeConfig;
use herald_store::Place;

#[test]
fn settings_given_override_the_file_which_overrides_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("herald.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\ndb = \"from-file.db\"\nbody_limit = 1024\n",
    )
    .unwrap();

    assert_eq!(
        ServeConfig::load(None, Settings::default()).unwrap(),
        ServeConfig::default()
    );
    let from_file = ServeConfig::load(Some(&file), Settings::default()).unwrap();
    assert_eq!(
        from_file.listen,
        "127.0.0.1:9000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(from_file.db, Place::Sqlite(PathBuf::from("from-file.db")));
    assert_eq!(from_file.body_limit, 1024);

    let given = Settings {
        db: Some(Place::Sqlite(PathBuf::from("given.db"))),
        ..Settings::default()
    };
    let config = ServeConfig::load(Some(&file), given).unwrap();
    assert_eq!(config.db, Place::Sqlite(PathBuf::from("given.db")));
    assert_eq!(
        config.listen, from_file.listen,
        "what is not given comes from the file"
    );
}

#[test]
fn a_postgres_url_in_the_file_is_a_postgres_store_shown_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("herald.toml");
    std::fs::write(
        &file,
        "db = \"postgres://herald:s3cret@db.example:5432/herald\"\n",
    )
    .unwrap();
    let config = ServeConfig::load(Some(&file), Settings::default()).unwrap();
    assert_eq!(
        config.db,
        Place::Postgres("postgres://herald:s3cret@db.example:5432/herald".into())
    );
    assert_eq!(
        config.db.to_string(),
        "postgres://herald@db.example:5432/herald"
    );
    assert!(!format!("{config:?}").contains("s3cret"));
}

#[test]
fn a_bad_file_is_named_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("herald.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nport = 9\n").unwrap();
    let e = ServeConfig::load(Some(&file), Settings::default()).unwrap_err();
    assert!(e.contains("herald.toml") && e.contains("port"), "{e}");
    let missing = dir.path().join("missing.toml");
    let e = ServeConfig::load(Some(&missing), Settings::default()).unwrap_err();
    assert!(
        e.contains("could not read") && e.contains("missing.toml"),
        "{e}"
    );
}

#[test]
fn private_webhook_addresses_are_refused_unless_a_layer_allows_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("herald.toml");
    assert!(
        !ServeConfig::load(None, Settings::default())
            .unwrap()
            .webhooks
            .allow_private
    );
    std::fs::write(&file, "[webhooks]\nallow_private = true\n").unwrap();
    let from_file = ServeConfig::load(Some(&file), Settings::default()).unwrap();
    assert!(from_file.webhooks.allow_private);
    let refused = Settings {
        webhooks: WebhookSettings {
            allow_private: Some(false),
        },
        ..Settings::default()
    };
    let config = ServeConfig::load(Some(&file), refused).unwrap();
    assert!(
        !config.webhooks.allow_private,
        "the environment or a flag overrides the file"
    );
    std::fs::write(&file, "[webhooks]\nallow_privat = true\n").unwrap();
    let e = ServeConfig::load(Some(&file), Settings::default()).unwrap_err();
    assert!(e.contains("allow_privat"), "{e}");
}

#[test]
fn delivery_and_mail_settings_layer_the_same_way_and_a_bad_schedule_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("herald.toml");
    std::fs::write(
        &file,
        "[delivery]\nworkers = 8\nretry_schedule = \"0s,1m\"\n\n[smtp]\nurl = \"smtp://mail.example:25\"\npool = 2\n",
    )
    .unwrap();
    let given = Settings {
        delivery: DeliverySettings {
            workers: Some(2),
            ..DeliverySettings::default()
        },
        ..Settings::default()
    };
    let config = ServeConfig::load(Some(&file), given).unwrap();
    assert_eq!(config.delivery.workers, 2, "the flag wins");
    assert_eq!(config.delivery.retry_schedule.to_string(), "0s,1m");
    assert_eq!(config.delivery.retry_schedule.attempts(), 2);
    assert_eq!(config.smtp.url.as_deref(), Some("smtp://mail.example:25"));
    assert_eq!(config.smtp.pool, 2);
    assert_eq!(config.smtp.from, ServeConfig::default().smtp.from);

    std::fs::write(&file, "[delivery]\nretry_schedule = \"0s,soon\"\n").unwrap();
    let e = ServeConfig::load(Some(&file), Settings::default()).unwrap_err();
    assert!(
        e.contains("retry schedule") && e.contains("\"soon\""),
        "{e}"
    );
    std::fs::write(&file, "[delivery]\nlease_seconds = 0\n").unwrap();
    let e = ServeConfig::load(Some(&file), Settings::default()).unwrap_err();
    assert!(e.contains("lease_seconds"), "{e}");
}

#[test]
fn the_log_is_text_at_info_unless_the_file_or_a_flag_says_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("herald.toml");
    let defaults = ServeConfig::load(None, Settings::default()).unwrap().log;
    assert_eq!(
        (defaults.format, defaults.level.as_str()),
        (LogFormat::Text, "info")
    );
    std::fs::write(&file, "[log]\nformat = \"json\"\nlevel = \"warn\"\n").unwrap();
    let from_file = ServeConfig::load(Some(&file), Settings::default())
        .unwrap()
        .log;
    assert_eq!(
        (from_file.format, from_file.level.as_str()),
        (LogFormat::Json, "warn")
    );
    let given = Settings {
        log: LogSettings {
            format: Some(LogFormat::Text),
            level: None,
        },
        ..Settings::default()
    };
    let config = ServeConfig::load(Some(&file), given).unwrap().log;
    assert_eq!(
        (config.format, config.level.as_str()),
        (LogFormat::Text, "warn")
    );
    std::fs::write(&file, "[log]\nformat = \"xml\"\n").unwrap();
    let e = ServeConfig::load(Some(&file), Settings::default()).unwrap_err();
    assert!(e.contains("xml"), "{e}");
}
