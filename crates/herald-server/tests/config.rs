//! The server's configuration: the file, then the environment and flags (already merged
//! by the command line), each overriding the one before, and clear errors.

use std::net::SocketAddr;
use std::path::PathBuf;

use herald_server::config::{Settings, WebhookSettings};
use herald_server::ServeConfig;

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
    assert_eq!(from_file.db, PathBuf::from("from-file.db"));
    assert_eq!(from_file.body_limit, 1024);

    let given = Settings {
        db: Some(PathBuf::from("given.db")),
        ..Settings::default()
    };
    let config = ServeConfig::load(Some(&file), given).unwrap();
    assert_eq!(config.db, PathBuf::from("given.db"));
    assert_eq!(
        config.listen, from_file.listen,
        "what is not given comes from the file"
    );
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
