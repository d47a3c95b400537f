//! Shared fixtures: the conformance world and messages (built once, `'static`, so spawned
//! tasks can borrow them), fresh stores in temporary folders, and the rows of a publish
//! and a stored message read back in one comparable shape.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use herald_domain::{route, wire, Directory, Message, Policy, Routing};
use herald_store::scratch::Scratch;
use herald_store::{
    Actor, Counts, DecisionEntry, DeliveryEntry, Engine, MessageDetail, Publish, Rows, Store,
};

/// A fixed acceptance time (Unix milliseconds): tests pass time in, they never read a clock.
pub const ACCEPTED_AT: i64 = 1_700_000_000_000;

/// A file of the conformance suite kept by `herald-domain`.
pub fn conformance_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../herald-domain/tests/data/conformance")
        .join(file)
}

fn read_conformance(file: &str) -> String {
    let path = conformance_path(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The conformance `world.json`.
pub fn conformance_world() -> wire::World {
    serde_json::from_str(&read_conformance("world.json")).expect("world.json has the wire shape")
}

/// Every conformance message, in file order, as published.
pub fn conformance_wires() -> Vec<wire::Message> {
    wire::Message::batch_from_str(&read_conformance("messages.json"))
        .expect("messages.json is a batch")
        .into_iter()
        .map(|m| m.expect("every conformance message has the wire shape"))
        .collect()
}

/// One decision of `expected.json`: customer, direct, partners.
pub type Triple = (String, bool, Vec<String>);

/// The expected decisions of a conformance message, or `None` when it is to be rejected.
pub fn expected_decisions(id: &str) -> Option<Vec<Triple>> {
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&read_conformance("expected.json")).expect("expected.json parses");
    let case = all
        .iter()
        .find(|c| c["message"] == id)
        .unwrap_or_else(|| panic!("expected.json has no case {id}"));
    if case["rejected"] == true {
        return None;
    }
    let decisions = case["decisions"].as_array().expect("decisions is a list");
    Some(
        decisions
            .iter()
            .map(|d| {
                (
                    d["customer"].as_str().expect("customer id").to_owned(),
                    d["direct"].as_bool().expect("direct flag"),
                    serde_json::from_value(d["partners"].clone()).expect("partner ids"),
                )
            })
            .collect(),
    )
}

/// The default policy, the conformance directory and its accepted messages.
pub struct Fixture {
    pub policy: Policy,
    pub directory: Directory,
    pub messages: Vec<Message>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let policy = Policy::default_policy();
    let directory = Directory::build(conformance_world()).unwrap_or_else(|e| panic!("{e}"));
    let messages = conformance_wires()
        .into_iter()
        .filter_map(|w| Message::parse(w, &policy, &directory).ok())
        .collect();
    Fixture {
        policy,
        directory,
        messages,
    }
});

/// The shared fixture.
pub fn fixture() -> &'static Fixture {
    &FIXTURE
}

impl Fixture {
    /// An accepted conformance message by id.
    pub fn message(&self, id: &str) -> &Message {
        self.messages
            .iter()
            .find(|m| m.id.as_str() == id)
            .unwrap_or_else(|| panic!("no accepted conformance message {id}"))
    }

    /// Conformance message `id`, routed and accepted at `accepted_at`.
    pub fn routed(&self, id: &str, accepted_at: i64) -> Routed<'_> {
        self.routed_of(self.message(id), accepted_at)
    }

    /// `message` (checked against this directory), routed and accepted at `accepted_at`.
    pub fn routed_of<'a>(&'a self, message: &'a Message, accepted_at: i64) -> Routed<'a> {
        Routed {
            fixture: self,
            message,
            routing: route(&self.policy, &self.directory, message),
            accepted_at,
        }
    }

    /// The directory's own row counts, with no message.
    pub fn directory_counts(&self) -> Counts {
        Counts {
            products: self.directory.products().len() as i64,
            partners: self.directory.partners().len() as i64,
            customers: self.directory.customers().len() as i64,
            subscriptions: self.directory.subscriptions().len() as i64,
            ..Counts::default()
        }
    }
}

/// A message routed against the fixture's directory, ready to publish.
pub struct Routed<'a> {
    fixture: &'a Fixture,
    message: &'a Message,
    routing: Routing,
    accepted_at: i64,
}

impl Routed<'_> {
    /// What the store is handed to publish it.
    pub fn publish(&self) -> Publish<'_> {
        Publish {
            policy: &self.fixture.policy,
            directory: &self.fixture.directory,
            message: self.message,
            routing: &self.routing,
            accepted_at: self.accepted_at,
            thread_head: None,
        }
    }

    /// The rows publishing it writes.
    pub fn rows(&self) -> Rows<'_> {
        Rows::build(&self.publish())
    }
}

/// A store in a place of its own (a file in a temporary folder, or a schema of the
/// PostgreSQL database `HERALD_TEST_POSTGRES` names), removed on drop.
pub struct TempStore {
    pub store: Store,
    pub scratch: Scratch,
}

/// Opens a store in a new place on the suite's engine.
pub async fn temp_store() -> TempStore {
    let scratch = Scratch::new().await.expect("a place for the store");
    open(scratch).await
}

/// Opens a store on a new SQLite file, whatever the suite's engine: for a test of the file
/// itself.
pub async fn temp_sqlite() -> TempStore {
    open(Scratch::sqlite().expect("a temporary folder")).await
}

async fn open(scratch: Scratch) -> TempStore {
    let store = scratch.open().await.expect("the store opens");
    TempStore { store, scratch }
}

/// Opens a store on a new file holding the conformance directory.
pub async fn store_with_directory() -> TempStore {
    let t = temp_store().await;
    t.store
        .import(&fixture().directory, 0, &Actor::Operator)
        .await
        .expect("the conformance directory imports");
    t
}

/// Makes the database refuse every write of `table` at `when` (`BEFORE INSERT`, say) for
/// which `condition` (SQL over `NEW`) holds, with the error "refused": a fault inside a
/// transaction, after what came before it was written.
pub async fn refuse(store: &Store, when: &str, table: &str, condition: &str) {
    let sql = match store.engine() {
        Engine::Sqlite => format!(
            "CREATE TRIGGER refuse {when} ON {table} WHEN {condition} \
             BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ),
        Engine::Postgres => format!(
            "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$; \
             CREATE TRIGGER refuse {when} ON {table} FOR EACH ROW WHEN ({condition}) \
             EXECUTE FUNCTION refuse()"
        ),
    };
    store.pool().execute_script(&sql).await.unwrap();
}

/// Takes back what [`refuse`] made the database refuse of `table`.
pub async fn allow(store: &Store, table: &str) {
    let sql = match store.engine() {
        Engine::Sqlite => "DROP TRIGGER refuse".to_owned(),
        Engine::Postgres => format!("DROP TRIGGER refuse ON {table}"),
    };
    store.pool().execute_script(&sql).await.unwrap();
}

/// `counts` plus the rows of `rows`, as publishing it should leave them.
pub fn counts_plus(counts: Counts, rows: &Rows<'_>) -> Counts {
    Counts {
        messages: counts.messages + 1,
        decisions: counts.decisions + rows.message.customers_in_scope,
        partner_copies: counts.partner_copies + rows.partner_copies().count() as i64,
        deliveries: counts.deliveries + rows.message.deliveries,
        ..counts
    }
}

fn ids(json: &str) -> Vec<String> {
    serde_json::from_str(json).expect("a row's list column is a JSON array of ids")
}

/// A decision: customer, direct, partners, subscriptions, copy, rules (scope, customer,
/// partners).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decision {
    pub customer: String,
    pub direct: bool,
    pub partners: Vec<String>,
    pub subscriptions: Vec<String>,
    pub copy: Option<Vec<String>>,
    pub rules: [String; 3],
}

/// A partner copy: partner, customers, subscriptions.
pub type Copy = (String, Vec<String>, Vec<String>);

/// A delivery: recipient, org, contact, channel, address, locale.
pub type Delivery = (String, String, String, String, String, String);

/// What a publish writes, in the comparable shape.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    pub decisions: Vec<Decision>,
    pub copies: Vec<Copy>,
    pub deliveries: Vec<Delivery>,
}

impl Written {
    /// From the rows a publish is given (decisions and copies sorted by id, deliveries in
    /// row order, which is the order they are inserted in).
    pub fn of_rows(rows: &Rows<'_>) -> Written {
        let scope = &rows.message.scope_rule;
        let mut decisions: Vec<Decision> = rows
            .decisions
            .iter()
            .flat_map(|b| {
                let entries: Vec<DecisionEntry> =
                    serde_json::from_str(&b.body).expect("a decision batch is a JSON array");
                assert_eq!(entries.len(), b.customers, "{}", b.body);
                assert_eq!(entries[0].customer, b.first_customer);
                entries
            })
            .map(|e| Decision {
                customer: e.customer,
                direct: e.direct,
                partners: e.partners,
                subscriptions: e.subscriptions,
                copy: e.copy,
                rules: [scope.clone(), e.customer_rule, e.partners_rule],
            })
            .collect();
        decisions.sort();
        let mut copies: Vec<Copy> = rows
            .partner_copies()
            .map(|c| {
                (
                    c.partner.to_string(),
                    ids(c.customers),
                    ids(c.subscriptions),
                )
            })
            .collect();
        copies.sort();
        let mut deliveries: Vec<Delivery> = rows
            .deliveries
            .iter()
            .flat_map(|b| {
                let entries: Vec<DeliveryEntry> =
                    serde_json::from_str(&b.body).expect("a delivery batch is a JSON array");
                assert_eq!(entries.len(), b.deliveries, "{}", b.body);
                entries.into_iter().map(|e| {
                    (
                        b.recipient.as_str().to_owned(),
                        e.organisation,
                        e.contact,
                        b.channel.to_owned(),
                        e.address,
                        e.locale,
                    )
                })
            })
            .collect();
        deliveries.sort();
        Written {
            decisions,
            copies,
            deliveries,
        }
    }

    /// From a stored message.
    pub fn of_detail(detail: &MessageDetail) -> Written {
        let mut decisions: Vec<Decision> = detail
            .decisions
            .iter()
            .map(|d| Decision {
                customer: d.customer.clone(),
                direct: d.direct,
                partners: d.partners.clone(),
                subscriptions: d.subscriptions.clone(),
                copy: d.copy.clone(),
                rules: [
                    d.rules.scope.clone(),
                    d.rules.customer.clone(),
                    d.rules.partners.clone(),
                ],
            })
            .collect();
        decisions.sort();
        let mut copies: Vec<Copy> = detail
            .partner_copies
            .iter()
            .map(|c| {
                (
                    c.partner.clone(),
                    c.customers.clone(),
                    c.subscriptions.clone(),
                )
            })
            .collect();
        copies.sort();
        let mut deliveries: Vec<Delivery> = detail
            .deliveries
            .iter()
            .map(|d| {
                (
                    d.recipient.clone(),
                    d.org.clone().expect("customers and partners are mailed"),
                    d.to.clone(),
                    d.channel.clone(),
                    d.address.clone().expect("mail has an address"),
                    d.locale.clone().expect("mail is in a locale"),
                )
            })
            .collect();
        deliveries.sort();
        Written {
            decisions,
            copies,
            deliveries,
        }
    }

    /// The (customer, direct, partners) triples, the conformance contract.
    pub fn triples(&self) -> Vec<Triple> {
        self.decisions
            .iter()
            .map(|d| (d.customer.clone(), d.direct, d.partners.clone()))
            .collect()
    }
}
