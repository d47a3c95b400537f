//! The directory, as a vendor reads and replaces it whole: its own cloud's partners,
//! customers and subscriptions, and products for the catalog every cloud shares.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use herald_domain::ids::{CloudId, CustomerIx, PartnerIx, ProductIx};
use herald_domain::limits::shown;
use herald_domain::{wire, Directory};

use super::schema::WorldBody;
use super::views::DirectoryCounts;
use crate::auth::Caller;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

fn cloud_of(cloud: &Option<CloudId>) -> &str {
    cloud.as_ref().map_or("global", CloudId::as_str)
}

/// The part of `directory` a vendor of `cloud` may see, in the world format: the
/// catalog, and the cloud's partners, customers and subscriptions, each sorted by id.
pub fn cloud_world(directory: &Directory, cloud: &str) -> wire::World {
    let products = (0..directory.products().len() as u32)
        .map(|p| directory.product_record(ProductIx(p)))
        .collect();
    let Some(home) = directory.cloud_ix(cloud) else {
        return wire::World {
            products,
            ..wire::World::default()
        };
    };
    let partners = directory
        .partners()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.cloud == home)
        .map(|(i, _)| directory.partner_record(PartnerIx(i as u32)))
        .collect();
    let customers: Vec<CustomerIx> = directory
        .customers()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.cloud == home)
        .map(|(i, _)| CustomerIx(i as u32))
        .collect();
    let mut subscriptions: Vec<wire::Subscription> = customers
        .iter()
        .flat_map(|c| directory.customer_subscriptions(*c))
        .map(|s| directory.subscription_record(s))
        .collect();
    subscriptions.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    wire::World {
        products,
        partners,
        customers: customers
            .into_iter()
            .map(|c| directory.customer_record(c))
            .collect(),
        subscriptions,
    }
}

/// The caller's cloud of the directory and the whole catalog, in the world format: what
/// `PUT /v1/directory` takes back unchanged.
#[utoipa::path(
    get,
    path = "/v1/directory",
    responses(
        (status = 200, description = "The catalog, and the key's cloud's partners, customers and subscriptions, each sorted by id.", body = WorldBody),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_directory(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<wire::World>, Problem> {
    let cloud = caller.vendor_cloud("read the directory")?;
    let snapshot = state.current_snapshot().await?;
    Ok(Json(cloud_world(&snapshot.directory, cloud)))
}

/// Replaces the caller's cloud of the directory, atomically: its partners, customers and
/// subscriptions become exactly those given. Products are added to or updated in the shared
/// catalog; the other clouds are untouched.
#[utoipa::path(
    put,
    path = "/v1/directory",
    request_body(content = WorldBody, description = "A directory in the world format (`products`, `partners`, `customers`, `subscriptions`), every partner and customer in the key's cloud."),
    responses(
        (status = 200, description = "Replaced: the cloud's records in numbers.", body = DirectoryCounts),
        (status = 400, description = "Not a directory in the world format.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A record of another cloud, or a rule of a valid directory broken; every problem is named.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_directory(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DirectoryCounts>, Problem> {
    let cloud = caller.vendor_cloud("replace the directory")?.to_owned();
    let body = body?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| Problem::new(Kind::Malformed, "the body is not UTF-8 text"))?;
    let world = wire::World::from_json(text).map_err(|e| {
        Problem::new(
            Kind::Malformed,
            format!("not a directory in the world format: {e}"),
        )
    })?;
    outside_cloud(&cloud, &world)?;

    // One replacement at a time, so two clouds replaced together both stay replaced.
    let _writing = state.directory_writes().lock().await;
    let stored = state.store().load_world().await?;
    let counts = DirectoryCounts {
        cloud: cloud.clone(),
        products: world.products.len(),
        partners: world.partners.len(),
        customers: world.customers.len(),
        subscriptions: world.subscriptions.len(),
    };
    let catalog = wire::World {
        products: stored.products.clone(),
        ..wire::World::default()
    };
    let directory = match Directory::build(merge(&cloud, stored, world)) {
        Ok(directory) => directory,
        Err(whole) => {
            // Found again in this cloud alone, so that the problems name only records the
            // caller may know: another cloud's partner is then simply not in the directory.
            let own = wire::World::from_json(text)
                .ok()
                .and_then(|world| Directory::build(merge(&cloud, catalog, world)).err());
            return Err(Problem::new(
                Kind::InvalidDirectory,
                own.unwrap_or(whole).to_string(),
            ));
        }
    };
    state.store().import(&directory).await?;
    state.keep_snapshot(Arc::new(state.store().load_snapshot().await?));
    Ok(Json(counts))
}

/// Refuses any record of the body outside `cloud`, naming each.
fn outside_cloud(cloud: &str, world: &wire::World) -> Result<(), Problem> {
    let mut problems = Vec::new();
    for p in &world.partners {
        if cloud_of(&p.cloud) != cloud {
            problems.push(format!(
                "partner \"{}\", field `cloud`: \"{}\" is not this key's cloud \"{cloud}\"",
                p.id.shown(),
                shown(cloud_of(&p.cloud))
            ));
        }
    }
    for c in &world.customers {
        if cloud_of(&c.cloud) != cloud {
            problems.push(format!(
                "customer \"{}\", field `cloud`: \"{}\" is not this key's cloud \"{cloud}\"",
                c.id.shown(),
                shown(cloud_of(&c.cloud))
            ));
        }
    }
    let customers: HashSet<&str> = world.customers.iter().map(|c| c.id.as_str()).collect();
    for s in &world.subscriptions {
        if !customers.contains(s.customer.as_str()) {
            problems.push(format!(
                "subscription \"{}\", field `customer`: \"{}\" is not one of this directory's customers",
                s.id.shown(),
                s.customer.shown()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Problem::new(
            Kind::InvalidDirectory,
            format!(
                "the directory was refused and nothing of it was used: {}",
                problems.join("; ")
            ),
        ))
    }
}

/// The stored world with `cloud`'s records replaced by `given`'s, and `given`'s products
/// added to or updated in the catalog.
fn merge(cloud: &str, stored: wire::World, given: wire::World) -> wire::World {
    let given_products: HashSet<String> = given.products.iter().map(|p| p.id.to_string()).collect();
    let mut products: Vec<wire::Product> = stored
        .products
        .into_iter()
        .filter(|p| !given_products.contains(p.id.as_str()))
        .collect();
    products.extend(given.products);
    let other_customers: HashSet<String> = stored
        .customers
        .iter()
        .filter(|c| cloud_of(&c.cloud) != cloud)
        .map(|c| c.id.to_string())
        .collect();
    let subscriptions = stored
        .subscriptions
        .into_iter()
        .filter(|s| other_customers.contains(s.customer.as_str()))
        .chain(given.subscriptions)
        .collect();
    let partners = stored
        .partners
        .into_iter()
        .filter(|p| cloud_of(&p.cloud) != cloud)
        .chain(given.partners)
        .collect();
    let customers = stored
        .customers
        .into_iter()
        .filter(|c| cloud_of(&c.cloud) != cloud)
        .chain(given.customers)
        .collect();
    wire::World {
        products,
        partners,
        customers,
        subscriptions,
    }
}
