//! The shapes of request bodies and path parameters, for the OpenAPI document only: the
//! world format of `herald_domain::wire`, described field for field (messages describe
//! themselves, behind the domain's `openapi` feature). Requests are read as the wire types themselves.

use serde::Deserialize;
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// A directory in the world format: all four lists, each `[]` when the directory holds
/// none of its kind.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorldBody {
    pub products: Vec<Product>,
    pub partners: Vec<Partner>,
    pub customers: Vec<Customer>,
    pub subscriptions: Vec<Subscription>,
}

/// A product of the catalog every cloud shares.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
}

/// The part a partner plays.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    DirectBill,
    IndirectProvider,
    IndirectReseller,
    Advisor,
}

/// A partner organisation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    pub id: String,
    pub kind: PartnerKind,
    pub name: Option<String>,
    pub cloud: Option<String>,
    pub locale: Option<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

/// An agreement a customer buys directly under.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgreementKind {
    EnterpriseAgreement,
    CustomerAgreement,
    OnlineSubscription,
}

/// A customer (tenant).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: String,
    pub name: Option<String>,
    pub cloud: Option<String>,
    #[serde(default)]
    pub agreements: Vec<AgreementKind>,
    #[serde(default)]
    pub advisors: Vec<String>,
    pub locale: Option<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

/// A contact's role.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Billing,
    Technical,
    Support,
}

/// A person at a partner or customer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub roles: Vec<Role>,
    pub locale: Option<String>,
    #[serde(default)]
    pub product_news: bool,
}

/// A subscription's state.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Suspended,
    Deleted,
}

/// A customer's holding of a product, through a partner or under an agreement.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    pub product: String,
    pub partner: Option<String>,
    pub reseller: Option<String>,
    pub agreement: Option<AgreementKind>,
    pub status: Option<Status>,
    #[serde(default)]
    pub regions: Vec<String>,
    pub cloud: Option<String>,
}

/// A directory record in the world format, of the kind its path names: a product, a
/// partner, a customer or a subscription.
pub struct RecordBody;

impl PartialSchema for RecordBody {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(Product::name()))
            .item(Ref::from_schema_name(Partner::name()))
            .item(Ref::from_schema_name(Customer::name()))
            .item(Ref::from_schema_name(Subscription::name()))
            .description(Some(
                "The record of the kind the path names: a product under `products`, a partner under `partners`, and so on.",
            ))
            .into()
    }
}

impl ToSchema for RecordBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Product::name().into(), Product::schema()));
        <Product as ToSchema>::schemas(schemas);
        schemas.push((Partner::name().into(), Partner::schema()));
        <Partner as ToSchema>::schemas(schemas);
        schemas.push((Customer::name().into(), Customer::schema()));
        <Customer as ToSchema>::schemas(schemas);
        schemas.push((Subscription::name().into(), Subscription::schema()));
        <Subscription as ToSchema>::schemas(schemas);
    }
}

/// The kinds of directory record, as a path names them.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Partners,
    Customers,
    Products,
    Subscriptions,
}

/// The kinds of organisation that have contacts, as a path names them.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Partners,
    Customers,
}
