//! Small worlds built by name, for the tests and benchmarks that need a partner hit
//! through many customers: [`relay_world`] is a partner, relay, with N customers (ids
//! `c000000`, `c000001`, …), each holding Exchange Online through it;
//! [`register_relay_endpoint`] gives relay a webhook endpoint; [`exchange_incident`] is an
//! incident on Exchange, which reaches every one of those customers and tells relay.

use herald_domain::wire;
use herald_store::{Actor, Endpoint, Mode, NewEndpoint, Principal, Store, StoreError};
use serde_json::{json, Value};

/// The partner of [`relay_world`].
pub const RELAY: &str = "relay";

/// The id of customer `i` of [`relay_world`].
pub fn relay_customer(i: usize) -> String {
    format!("c{i:06}")
}

/// A directory of `customers` customers, each holding Exchange Online through one partner,
/// relay (direct bill), and no contact anywhere.
pub fn relay_world(customers: usize) -> wire::World {
    relay(customers, json!([]))
}

/// [`relay_world`] where relay has one contact, its desk (`desk@relay.example`), who reads
/// incidents.
pub fn relay_world_with_desk(customers: usize) -> wire::World {
    relay(
        customers,
        json!([{"id": "relay-desk", "name": "Relay Desk", "email": "desk@relay.example",
                "roles": ["admin", "technical", "support"]}]),
    )
}

fn relay(customers: usize, contacts: Value) -> wire::World {
    let ids: Vec<String> = (0..customers).map(relay_customer).collect();
    serde_json::from_value(json!({
        "products": [{"id": "exchange-online", "name": "Exchange Online", "services": ["exchange"]}],
        "partners": [{"id": RELAY, "kind": "direct_bill", "name": "Relay", "contacts": contacts}],
        "customers": ids.iter().map(|id| json!({"id": id, "name": format!("Customer {id}")})).collect::<Vec<_>>(),
        "subscriptions": ids.iter().map(|id| json!({
            "id": format!("{id}-exo"), "customer": id, "product": "exchange-online",
            "partner": RELAY, "status": "active"
        })).collect::<Vec<_>>(),
    }))
    .expect("the relay world is in the directory format")
}

/// Relay, as the owner of an endpoint.
pub fn relay_principal() -> Principal {
    Principal::Partner {
        cloud: "global".into(),
        partner: RELAY.into(),
    }
}

/// Registers relay's webhook endpoint ("relay's ticketing") at `url`, signing with
/// `secret` and taking events `mode`, at `now` (Unix milliseconds).
pub async fn register_relay_endpoint(
    store: &Store,
    url: &str,
    secret: &str,
    mode: Mode,
    now: i64,
) -> Result<Endpoint, StoreError> {
    store
        .create_endpoint(
            &relay_principal(),
            NewEndpoint {
                url: url.into(),
                description: "relay's ticketing".into(),
                categories: None,
                mode: Some(mode),
            },
            secret,
            now,
            &Actor::Operator,
        )
        .await
}

/// An incident `id` on Exchange, in every region: it reaches every customer of
/// [`relay_world`], and relay hears of each.
pub fn exchange_incident(id: &str) -> wire::Message {
    serde_json::from_value(json!({
        "id": id, "category": "service_incident", "services": ["exchange"],
        "title": "Mail delayed", "body": "We are looking into it."
    }))
    .expect("the incident is a message")
}

#[cfg(test)]
mod tests {
    use herald_domain::{route, Directory, Message, Policy};
    use herald_store::{Actor, Mode, Store};

    use super::*;

    #[test]
    fn the_incident_reaches_every_customer_of_relay_and_tells_relay() {
        let directory = Directory::build(relay_world_with_desk(3)).unwrap();
        let ids: Vec<String> = directory
            .customers()
            .iter()
            .map(|c| c.id.to_string())
            .collect();
        assert_eq!(ids, ["c000000", "c000001", "c000002"]);
        let policy = Policy::default_policy();
        let message = Message::parse(exchange_incident("down"), &policy, &directory).unwrap();
        let routing = route(&policy, &directory, &message);
        assert_eq!(routing.decisions().len(), 3);
        for decision in routing.decisions() {
            let told: Vec<String> = routing
                .partners(decision)
                .iter()
                .map(|&p| directory.partner(p).id.to_string())
                .collect();
            assert_eq!(told, [RELAY]);
        }
    }

    #[tokio::test]
    async fn relay_gets_the_endpoint_registered_for_it() {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(&folder.path().join("kit.db")).await.unwrap();
        let directory = Directory::build(relay_world(2)).unwrap();
        store.import(&directory, 1, &Actor::Operator).await.unwrap();
        let secret = herald_delivery::Secret::generate().unwrap().to_string();
        let made = register_relay_endpoint(
            &store,
            "http://127.0.0.1:9/hook",
            &secret,
            Mode::PerCustomer,
            2,
        )
        .await
        .unwrap();
        let found = store
            .endpoint(&relay_principal(), &made.id)
            .await
            .unwrap()
            .expect("relay's endpoint");
        assert_eq!(found.url, "http://127.0.0.1:9/hook");
        assert_eq!(found.mode, Mode::PerCustomer);
        store.close().await;
    }
}
