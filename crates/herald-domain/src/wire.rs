//! The JSON shapes at Herald's edges: the world (a directory snapshot) and messages.
//!
//! These types say only what the bytes look like; they accept things that are not valid
//! (a subscription naming an unknown customer, a message with a scope its category does not
//! allow). [`Directory::build`](crate::Directory::build) and
//! [`Message::parse`](crate::Message::parse) turn them, once, into types that are valid.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{
    CloudId, ContactId, CustomerId, MessageId, PartnerId, ProductId, ServiceId, SubscriptionId,
    ThreadId,
};

/// A directory snapshot: the format of the conformance `world.json` and of `herald import`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// The product catalog, shared by all clouds.
    #[serde(default)]
    pub products: Vec<Product>,
    /// Partners of every cloud.
    #[serde(default)]
    pub partners: Vec<Partner>,
    /// Customers (tenants) of every cloud.
    #[serde(default)]
    pub customers: Vec<Customer>,
    /// Subscriptions, each CSP (through a partner) or direct (under an agreement).
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
}

impl World {
    /// The four lists a world holds, each named in every world read from JSON.
    pub const LISTS: [&'static str; 4] = ["products", "partners", "customers", "subscriptions"];

    /// Reads a world from JSON: an object naming all four [`World::LISTS`] (an empty list
    /// `[]` for a kind it holds none of). When it does not parse, the error names the lists
    /// missing, or the record at fault (`subscriptions[3] "contoso-e3"`) and what is wrong
    /// with it.
    pub fn from_json(text: &str) -> Result<World, String> {
        // serde would read a JSON array as a world with its fields in order, and `[]` as an
        // empty world that replaces the whole directory with nothing; `{}` likewise.
        if !text.trim_start().starts_with('{') {
            return Err(
                "a world is a JSON object with `products`, `partners`, `customers` and `subscriptions`"
                    .to_owned(),
            );
        }
        /// A world as written, telling a list left out from an empty one.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Written {
            products: Option<Vec<Product>>,
            partners: Option<Vec<Partner>>,
            customers: Option<Vec<Customer>>,
            subscriptions: Option<Vec<Subscription>>,
        }
        let error = match serde_json::from_str::<Written>(text) {
            Ok(Written {
                products: Some(products),
                partners: Some(partners),
                customers: Some(customers),
                subscriptions: Some(subscriptions),
            }) => {
                return Ok(World {
                    products,
                    partners,
                    customers,
                    subscriptions,
                })
            }
            Ok(written) => {
                let given = [
                    written.products.is_some(),
                    written.partners.is_some(),
                    written.customers.is_some(),
                    written.subscriptions.is_some(),
                ];
                let missing: Vec<String> = World::LISTS
                    .into_iter()
                    .zip(given)
                    .filter(|(_, given)| !given)
                    .map(|(list, _)| format!("`{list}`"))
                    .collect();
                return Err(format!(
                    "the world has no {}; a world names all four lists, an empty list `[]` for a kind it holds none of, so that a list left out never empties the directory",
                    missing.join(", ")
                ));
            }
            Err(e) => e,
        };
        let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(text)
        else {
            return Err(error.to_string());
        };
        fn check<T: serde::de::DeserializeOwned>(
            kind: &str,
            items: &[serde_json::Value],
        ) -> Result<(), String> {
            for (i, item) in items.iter().enumerate() {
                if let Err(e) = serde_json::from_value::<T>(item.clone()) {
                    let id = item
                        .get("id")
                        .and_then(|id| id.as_str())
                        .map(|id| format!(" \"{}\"", crate::limits::shown(id)))
                        .unwrap_or_default();
                    return Err(format!("{kind}[{i}]{id}: {e}"));
                }
            }
            Ok(())
        }
        for (kind, value) in &root {
            let Some(items) = value.as_array() else {
                continue;
            };
            let found = match kind.as_str() {
                "products" => check::<Product>(kind, items),
                "partners" => check::<Partner>(kind, items),
                "customers" => check::<Customer>(kind, items),
                "subscriptions" => check::<Subscription>(kind, items),
                _ => Ok(()),
            };
            found?;
        }
        Err(error.to_string())
    }
}

impl World {
    /// Puts `record` in place of the record of its kind with its id, or adds it; whether
    /// one was replaced.
    pub fn put(&mut self, record: Record) -> bool {
        fn put_in<T>(list: &mut Vec<T>, id: impl Fn(&T) -> &str, record: T) -> bool {
            match list.iter().position(|r| id(r) == id(&record)) {
                Some(i) => {
                    list[i] = record;
                    true
                }
                None => {
                    list.push(record);
                    false
                }
            }
        }
        match record {
            Record::Product(p) => put_in(&mut self.products, |r| r.id.as_str(), p),
            Record::Partner(p) => put_in(&mut self.partners, |r| r.id.as_str(), p),
            Record::Customer(c) => put_in(&mut self.customers, |r| r.id.as_str(), c),
            Record::Subscription(s) => put_in(&mut self.subscriptions, |r| r.id.as_str(), s),
        }
    }

    /// Removes the record of `kind` with `id`; whether there was one.
    pub fn remove(&mut self, kind: RecordKind, id: &str) -> bool {
        fn remove_from<T>(list: &mut Vec<T>, of: impl Fn(&T) -> &str, id: &str) -> bool {
            let before = list.len();
            list.retain(|r| of(r) != id);
            list.len() != before
        }
        match kind {
            RecordKind::Product => remove_from(&mut self.products, |r| r.id.as_str(), id),
            RecordKind::Partner => remove_from(&mut self.partners, |r| r.id.as_str(), id),
            RecordKind::Customer => remove_from(&mut self.customers, |r| r.id.as_str(), id),
            RecordKind::Subscription => remove_from(&mut self.subscriptions, |r| r.id.as_str(), id),
        }
    }
}

/// The kinds of directory record: one list each in a [`World`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Product,
    Partner,
    Customer,
    Subscription,
}

impl RecordKind {
    /// The name of one record of this kind, as directory errors give it: `product`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Partner => "partner",
            Self::Customer => "customer",
            Self::Subscription => "subscription",
        }
    }
}

/// One directory record of any kind, in the world format.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Record {
    Product(Product),
    Partner(Partner),
    Customer(Customer),
    Subscription(Subscription),
}

impl Record {
    /// Reads a record of `kind` from JSON in the world format.
    pub fn from_value(kind: RecordKind, value: serde_json::Value) -> serde_json::Result<Record> {
        Ok(match kind {
            RecordKind::Product => Record::Product(serde_json::from_value(value)?),
            RecordKind::Partner => Record::Partner(serde_json::from_value(value)?),
            RecordKind::Customer => Record::Customer(serde_json::from_value(value)?),
            RecordKind::Subscription => Record::Subscription(serde_json::from_value(value)?),
        })
    }

    /// The record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Product(_) => RecordKind::Product,
            Record::Partner(_) => RecordKind::Partner,
            Record::Customer(_) => RecordKind::Customer,
            Record::Subscription(_) => RecordKind::Subscription,
        }
    }

    /// The record's id.
    pub fn id(&self) -> &str {
        match self {
            Record::Product(p) => p.id.as_str(),
            Record::Partner(p) => p.id.as_str(),
            Record::Customer(c) => c.id.as_str(),
            Record::Subscription(s) => s.id.as_str(),
        }
    }
}

/// A product and the services it contains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub services: Vec<ServiceId>,
}

/// The kinds of partner in the CSP model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    /// Transacts with the vendor and bills its customers.
    DirectBill,
    /// A distributor: transacts with the vendor and bills resellers.
    IndirectProvider,
    /// Sells through an indirect provider and owns the customer relationship.
    IndirectReseller,
    /// Advises customers and bills nothing.
    Advisor,
}

impl PartnerKind {
    /// The name used in the world format.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectBill => "direct_bill",
            Self::IndirectProvider => "indirect_provider",
            Self::IndirectReseller => "indirect_reseller",
            Self::Advisor => "advisor",
        }
    }
}

/// A partner organisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    pub id: PartnerId,
    pub kind: PartnerKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
}

/// The direct commercial agreements a customer may hold with the vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementKind {
    EnterpriseAgreement,
    CustomerAgreement,
    OnlineSubscription,
}

impl AgreementKind {
    /// Every kind, in a fixed order.
    pub const ALL: [AgreementKind; 3] = [
        Self::EnterpriseAgreement,
        Self::CustomerAgreement,
        Self::OnlineSubscription,
    ];

    /// The name used in the world format.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnterpriseAgreement => "enterprise_agreement",
            Self::CustomerAgreement => "customer_agreement",
            Self::OnlineSubscription => "online_subscription",
        }
    }
}

/// A customer, that is a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: CustomerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agreements: Vec<AgreementKind>,
    /// The `advisor` partners that advise this customer (a policy may tell them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advisors: Vec<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
}

/// What a contact is responsible for inside its organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Billing,
    Technical,
    Support,
}

impl Role {
    /// The name used in the world format and in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Billing => "billing",
            Self::Technical => "technical",
            Self::Support => "support",
        }
    }

    /// The role's bit in a [`RoleSet`](crate::directory::RoleSet).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A person or mailbox of a partner or customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Consent to `product` messages.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub product_news: bool,
}

/// A subscription's lifecycle state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Active,
    Suspended,
    Deleted,
}

impl Status {
    /// Every status, in a fixed order.
    pub const ALL: [Status; 3] = [Self::Active, Self::Suspended, Self::Deleted];

    /// The name used in the world format.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }
}

/// A customer's holding of one product, through a partner (CSP) or under an agreement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub customer: CustomerId,
    pub product: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller: Option<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<AgreementKind>,
    #[serde(default, skip_serializing_if = "is_active")]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudId>,
}

fn is_active(status: &Status) -> bool {
    *status == Status::Active
}

/// Text in one language, or per locale (`{"en": "…", "ru": "…"}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    Localized(BTreeMap<String, String>),
}

/// A message as a publisher sends it. Category and scope are checked by
/// [`Message::parse`](crate::Message::parse), not here, so that a message with a bad
/// category still has an id to be rejected under.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The publisher's idempotency key within its cloud.
    pub id: MessageId,
    /// One of the policy's categories, e.g. `service_incident`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The publisher's cloud when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriptions: Option<Vec<SubscriptionId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<ProductId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customers: Option<Vec<CustomerId>>,
    /// The locale of plain text, and the last step of every reader's locale fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Text>,
    /// The incident thread this message is an update of, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadId>,
    /// Where the thread's incident stands with this update; given exactly when `thread` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ThreadStatus>,
}

/// Where an incident stands, as each update of its thread says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ThreadStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl ThreadStatus {
    /// The name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
        }
    }
}

/// One message as read: the message, or its id (when it had one) and what is wrong.
pub type Parsed = Result<Message, (Option<MessageId>, String)>;

impl Message {
    /// The message in a canonical JSON form: scope lists sorted and without repeats, the
    /// cloud spelled out. The same message always gives the same text, however its lists
    /// were ordered, so a repeat is recognised and a different message under the same id is
    /// not.
    pub fn canonical(&self) -> String {
        fn tidy<T: Ord>(list: &Option<Vec<T>>) -> Option<Vec<&T>> {
            list.as_ref().map(|l| {
                let mut l: Vec<&T> = l.iter().collect();
                l.sort_unstable();
                l.dedup();
                l
            })
        }
        let mut canonical = serde_json::json!({
            "id": self.id,
            "category": self.category,
            "cloud": self.cloud.clone().unwrap_or_else(CloudId::global),
            "subscriptions": tidy(&self.subscriptions),
            "products": tidy(&self.products),
            "services": tidy(&self.services),
            "regions": tidy(&self.regions),
            "customers": tidy(&self.customers),
            "locale": self.locale,
            "title": self.title,
            "body": self.body,
        });
        // Only a thread's messages spell these out, so a message without one reads as it
        // always has.
        if let Some(thread) = &self.thread {
            canonical["thread"] = serde_json::json!(thread);
        }
        if let Some(status) = self.status {
            canonical["status"] = serde_json::json!(status);
        }
        canonical.to_string()
    }

    /// Reads one message from JSON, keeping its id when the rest does not parse, so the
    /// rejection can name it.
    pub fn from_value(value: serde_json::Value) -> Parsed {
        let id = value
            .get("id")
            .and_then(|id| id.as_str())
            .map(MessageId::from);
        serde_json::from_value(value).map_err(|e| (id, e.to_string()))
    }

    /// Reads a batch: a JSON array of messages, or newline-delimited JSON objects. Each item
    /// is read on its own so that one malformed message does not hide the others.
    pub fn batch_from_str(text: &str) -> Result<Vec<Parsed>, String> {
        let trimmed = text.trim_start();
        let values: Vec<serde_json::Value> = if trimmed.starts_with('[') {
            serde_json::from_str(text).map_err(|e| format!("not a JSON array of messages: {e}"))?
        } else {
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(n, line)| {
                    serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))
                })
                .collect::<Result<_, _>>()?
        };
        Ok(values.into_iter().map(Message::from_value).collect())
    }
}
