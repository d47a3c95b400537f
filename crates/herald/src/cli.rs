//! The command line: every subcommand and its flags.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};
use herald_bench::BenchCommand;
use herald_server::config::LogFormat;
use herald_store::Place;

/// Herald decides who hears about a vendor's message when the vendor sells through
/// partners, stores each copy and delivers it by email and webhook.
#[derive(Debug, Parser)]
#[command(name = "herald", version)]
pub struct Cli {
    /// Show times in this machine's time zone, with its offset, rather than in UTC.
    #[arg(long, global = true)]
    pub local: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the store is.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The store: a SQLite database file, or a PostgreSQL database as
    /// `postgres://user:password@host:port/database` (password and port optional).
    #[arg(
        long,
        env = "HERALD_DB",
        hide_env_values = true,
        default_value = "herald.db"
    )]
    pub db: Place,
}

/// Which policy decides.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A policy file (TOML) to use instead of the default policy.
    #[arg(long, env = "HERALD_POLICY")]
    pub policy: Option<PathBuf>,
}

/// What `herald serve` and `herald work` share: where the configuration file, the
/// database and the policy are, and how deliveries are worked. Flags win over `HERALD_…`
/// variables, which win over the file.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// A configuration file (TOML: `listen`, `db`, `policy`, `body_limit`;
    /// `allow_private` under `[webhooks]`; `workers`, `lease_seconds`, `retry_schedule`
    /// under `[delivery]`; `url`, `from`, `ca`, `pool` under `[smtp]`; `format`, `level`
    /// under `[log]`).
    #[arg(long, env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,
    /// The store: a SQLite database file, or a PostgreSQL database as
    /// `postgres://user:password@host:port/database` (password and port optional)
    /// [default: herald.db].
    #[arg(long, env = "HERALD_DB", hide_env_values = true)]
    pub db: Option<Place>,
    /// A policy file (TOML) to use instead of the default policy.
    #[arg(long, env = "HERALD_POLICY")]
    pub policy: Option<PathBuf>,
    /// How the log on stderr is written: `text` for a person, `json` (one object a line)
    /// for machines [default: text].
    #[arg(long, env = "HERALD_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Which events are logged, as `RUST_LOG` says it: a level (`error`, `warn`, `info`,
    /// `debug`, `trace`, `off`), or levels by target (`herald::request=off,info`)
    /// [default: info].
    #[arg(long, env = "HERALD_LOG")]
    pub log_level: Option<String>,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// How `herald serve` runs.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HERALD_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// The largest request body accepted, in bytes [default: 64 MiB].
    #[arg(long, env = "HERALD_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    #[command(flatten)]
    pub shared: ConfigArgs,
    #[command(flatten)]
    pub nats: NatsArgs,
}

/// How `herald consume` runs.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub shared: ConfigArgs,
    #[command(flatten)]
    pub nats: NatsArgs,
}

/// Where publish requests are read from a message bus (NATS JetStream), by
/// `herald consume` and, when given, inside `herald serve`: flags over `HERALD_NATS_…`
/// variables over the `[nats]` table of the configuration file.
#[derive(Debug, Args)]
pub struct NatsArgs {
    /// The NATS server with JetStream, `nats://host:port` (several separated by commas for
    /// a cluster). Requests arrive on `herald.publish.<cloud>`.
    #[arg(long = "nats", env = "HERALD_NATS_URL", hide_env_values = true)]
    pub url: Option<String>,
    /// The first token of every subject: requests on `<prefix>.publish.<cloud>`,
    /// announcements on `<prefix>.published.<cloud>` and `<prefix>.rejected.<cloud>`
    /// [default: herald].
    #[arg(long = "nats-prefix", env = "HERALD_NATS_PREFIX")]
    pub prefix: Option<String>,
    /// The JetStream stream holding the requests, made when missing [default: HERALD].
    #[arg(long = "nats-stream", env = "HERALD_NATS_STREAM")]
    pub stream: Option<String>,
    /// The durable consumer every intake process shares, made when missing
    /// [default: herald-intake].
    #[arg(long = "nats-consumer", env = "HERALD_NATS_CONSUMER")]
    pub consumer: Option<String>,
    /// The most requests one process has in hand at once [default: 32].
    #[arg(long = "nats-in-flight", env = "HERALD_NATS_IN_FLIGHT")]
    pub in_flight: Option<usize>,
    /// How long, in seconds, a request may go unacknowledged by a silent process before
    /// another takes it, when the consumer is made [default: 30].
    #[arg(long = "nats-ack-wait-seconds", env = "HERALD_NATS_ACK_WAIT_SECONDS")]
    pub ack_wait_seconds: Option<u64>,
}

/// How `herald listen` runs.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The endpoint's signing secret (`whsec_…`), as `POST /v1/endpoints` answered it.
    #[arg(long, env = "HERALD_LISTEN_SECRET", hide_env_values = true)]
    pub secret: String,
    /// The loopback address to listen on (only 127.0.0.0/8 or ::1: this is a developer's
    /// receiver, not one to expose to a network).
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: std::net::SocketAddr,
    /// Print each event as one JSON object a line, the event with its `webhook_id`.
    #[arg(long)]
    pub json: bool,
}

/// How deliveries are worked, by `herald work` and inside `herald serve`: flags over
/// `HERALD_…` variables over the configuration file.
#[derive(Debug, Args)]
pub struct DeliveryArgs {
    /// Allow webhook endpoints on loopback, private and link-local addresses (refused by
    /// default, so that a registered URL cannot reach into this network) [default: false].
    #[arg(long, env = "HERALD_WEBHOOKS_ALLOW_PRIVATE", num_args = 0..=1, default_missing_value = "true")]
    pub webhooks_allow_private: Option<bool>,
    /// The most deliveries in flight at once; 0 keeps `herald serve` from delivering
    /// [default: 64].
    #[arg(long, env = "HERALD_DELIVERY_WORKERS")]
    pub workers: Option<usize>,
    /// How long a worker's lease on deliveries lasts, in seconds, before another worker
    /// may take them over [default: 30].
    #[arg(long, env = "HERALD_DELIVERY_LEASE_SECONDS")]
    pub lease_seconds: Option<u64>,
    /// The waits before each attempt, separated by commas
    /// [default: 0s,5s,5m,30m,2h,5h,10h,10h].
    #[arg(long, env = "HERALD_DELIVERY_RETRY_SCHEDULE")]
    pub retry_schedule: Option<String>,
    /// The mail server: smtp://host:port, smtp://host:port?tls=required (STARTTLS) or
    /// smtps://host:port, with user:password@ to log in. Without one, email waits.
    #[arg(long, env = "HERALD_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of email (by default `Herald <notices@herald.localhost>`).
    #[arg(long, env = "HERALD_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// A root certificate (PEM file) to trust for the mail server's TLS.
    #[arg(long, env = "HERALD_SMTP_CA")]
    pub smtp_ca: Option<PathBuf>,
}

/// How `herald work` runs.
#[derive(Debug, Args)]
pub struct WorkArgs {
    #[command(flatten)]
    pub shared: ConfigArgs,
    /// Stop once every queued delivery has arrived or died (waiting out retries and
    /// other workers' leases), rather than wait for more.
    #[arg(long)]
    pub until_idle: bool,
    /// How often to log how far the work has come (delivered, to be tried again, dead, and
    /// deliveries a second) when stderr is not a terminal, in seconds; 0 never does. On a
    /// terminal a live line shows it instead.
    #[arg(long, default_value_t = 10)]
    pub progress_seconds: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Route messages against a world file and print one JSON line per message.
    Route {
        /// The directory snapshot (world format).
        #[arg(long)]
        world: PathBuf,
        /// The messages: a JSON array, or one JSON object per line.
        messages: PathBuf,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Explain why a customer (or partner) did or did not hear about a message.
    Explain {
        /// The directory snapshot (world format).
        #[arg(long)]
        world: PathBuf,
        /// The messages file.
        messages: PathBuf,
        /// Which message of the file, when it holds more than one.
        #[arg(long)]
        message: Option<String>,
        /// The customer to explain.
        #[arg(long, required_unless_present = "partner")]
        customer: Option<String>,
        /// The partner to explain.
        #[arg(long)]
        partner: Option<String>,
        /// Print the explanation as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Show or check a policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Bring the store's schema up to date (creating the store if there is none); every
    /// other command does so too as it opens the store. A store a newer Herald wrote is
    /// refused, unchanged.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Copy a whole store into a new one, from SQLite to PostgreSQL or back: the
    /// directory, messages, deliveries and their attempts, endpoints, API keys and the
    /// audit log. The target is made (or migrated) first and must hold no data; the copy
    /// is written in one transaction.
    Copy {
        /// The store copied: a SQLite database file or a postgres:// URL.
        #[arg(long)]
        from: Place,
        /// The store written: a new SQLite database file, or an empty PostgreSQL database
        /// as a postgres:// URL.
        #[arg(long)]
        to: Place,
    },
    /// Replace the stored directory with a world file, atomically.
    Import {
        /// The world file.
        world: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Route messages against the stored directory and store them with their deliveries.
    Publish {
        /// The messages: a JSON array, or one JSON object per line.
        messages: PathBuf,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// List stored messages.
    Messages {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show a stored message with its decisions and deliveries.
    Show {
        /// The message id.
        id: String,
        /// The message's cloud: ids are the publisher's own within each cloud.
        #[arg(long, default_value = "global")]
        cloud: String,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// See deliveries and replay them.
    Deliveries {
        #[command(subcommand)]
        command: DeliveriesCommand,
    },
    /// Show the audit log, newest first: every change to the directory, publish, key,
    /// endpoint and replay, when, by which key (or the operator here) and what changed.
    Audit {
        /// Only what concerns this cloud (and every cloud: the catalog, whole imports).
        #[arg(long)]
        cloud: Option<String>,
        /// The most entries shown, from 1 to 500.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
        /// Print one JSON object per entry, one per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the shell completions of herald for bash, zsh, fish or PowerShell.
    Completions {
        /// The shell: bash, zsh, fish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write a man page for herald and one for each of its commands into a folder.
    Man {
        /// The folder the pages are written to (made if missing).
        #[arg(long, default_value = "man")]
        out: PathBuf,
    },
    /// Deliver what is queued, until SIGTERM or Ctrl-C (or, with --until-idle, until every
    /// delivery is settled), then finish what is in flight.
    Work(WorkArgs),
    /// Serve the HTTP API until SIGTERM or Ctrl-C (reading publish requests from NATS too,
    /// when --nats names a server).
    Serve(ServeArgs),
    /// Read publish requests from NATS JetStream (`herald.publish.<cloud>`, the body of
    /// POST /v1/messages), store each and acknowledge it, until SIGTERM or Ctrl-C; every
    /// process shares one consumer. Delivers too, as `herald serve` does.
    Consume(ConsumeArgs),
    /// Receive webhooks on this machine: verify each one's signature, print it, until
    /// SIGTERM or Ctrl-C.
    Listen(ListenArgs),
    /// Make, list and revoke the API keys callers of the HTTP API present.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Run the whole job on a generated directory and print a readable summary.
    Demo {
        /// How many customers the generated directory has.
        #[arg(long, default_value_t = 5000)]
        customers: usize,
        /// The seed of the generated directory.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Where to keep the demo's store: a new SQLite file, or an empty PostgreSQL
        /// database as a postgres:// URL (a fresh file in a temporary folder by default).
        #[arg(long)]
        db: Option<Place>,
        /// Then keep the demo's store open under `herald serve`, and print the web
        /// console's address with keys to sign in as a vendor, a partner and a customer.
        #[arg(long)]
        serve: bool,
        /// Where the console listens, with --serve.
        #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
        listen: std::net::SocketAddr,
    },
    /// Measure a path of the product against a plain baseline.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List a message's deliveries, or else those retrying or dead, newest first.
    List {
        /// Every delivery of this message.
        #[arg(long)]
        message: Option<String>,
        /// Only deliveries in this state: `retrying` or `dead` (both when neither this nor
        /// --message is given); with --message, also `pending` or `delivered`.
        #[arg(long)]
        status: Option<String>,
        /// The cloud of the message or deliveries.
        #[arg(long, default_value = "global")]
        cloud: String,
        /// The most deliveries listed.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show a delivery with every attempt at it.
    Show {
        /// The delivery's id.
        id: i64,
        /// The cloud of the delivery's message.
        #[arg(long, default_value = "global")]
        cloud: String,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Replay a dead or delivered delivery: a worker tries it again at once.
    Retry {
        /// The delivery's id.
        id: i64,
        /// The cloud of the delivery's message.
        #[arg(long, default_value = "global")]
        cloud: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the active policy.
    Show {
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Check a policy file and report what is wrong with it.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key and print its token on stdout; the token is shown this once only.
    #[command(group(
        ArgGroup::new("acts_as")
            .required(true)
            .args(["vendor", "partner", "customer"])
    ))]
    Create {
        /// A vendor key, acting in the cloud named by --cloud, or for every cloud with
        /// --all-clouds.
        #[arg(long)]
        vendor: bool,
        /// The cloud a vendor key acts in: one the stored directory's partners or
        /// customers belong to.
        #[arg(long, requires = "vendor", conflicts_with = "all_clouds")]
        cloud: Option<String>,
        /// A vendor key for every cloud: it changes the product catalog the clouds share
        /// (which a key of one cloud may only read), and nothing of any one cloud.
        #[arg(long, requires = "vendor")]
        all_clouds: bool,
        /// A key acting as this partner of the stored directory, in its cloud.
        #[arg(long)]
        partner: Option<String>,
        /// A key acting as this customer of the stored directory, in its cloud.
        #[arg(long)]
        customer: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List every key, revoked ones included, oldest first; never a token.
    List {
        /// Print the keys as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a key: its token no longer authenticates.
    Revoke {
        /// The key's id: the part of its token between `hk_` and the second `_`.
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every subcommand and every flag or argument, at every depth, says in a line what it
    /// is for, and the top level says what Herald does rather than list the subcommands.
    #[test]
    fn every_subcommand_and_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg
                    .get_help()
                    .is_none_or(|h| h.to_string().trim().is_empty())
                {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in command.get_subcommands() {
                let sub_path = format!("{path} {}", sub.get_name());
                if sub
                    .get_about()
                    .is_none_or(|h| h.to_string().trim().is_empty())
                {
                    missing.push(sub_path.clone());
                }
                walk(sub, &sub_path, missing);
            }
        }
        let cli = Cli::command();
        let mut missing = Vec::new();
        walk(&cli, "herald", &mut missing);
        assert!(missing.is_empty(), "without a help line: {missing:?}");

        let about = cli
            .get_about()
            .expect("herald has an about line")
            .to_string();
        assert!(
            about.contains("partners") && !about.contains("route, explain"),
            "{about}"
        );
    }
}
