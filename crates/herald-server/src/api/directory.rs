//! The directory, as a vendor reads and replaces it whole: its own cloud's partners,
//! customers and subscriptions, and products for the catalog every cloud shares. What a
//! replacement may hold and how it is checked and written is the use cases'
//! (`herald-service`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use herald_domain::wire;
use herald_service::Editor;

use super::schema::WorldBody;
use super::views::DirectoryCounts;
use crate::clock::now;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// The caller's cloud of the directory and the whole catalog, in the world format: what
/// `PUT /v1/directory` takes back unchanged.
#[utoipa::path(
    get,
    path = "/v1/directory",
    responses(
        (status = 200, description = "The catalog, and the key's cloud's partners, customers and subscriptions, each sorted by id (the catalog alone for a key for every cloud).", body = WorldBody),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_directory(
    State(state): State<AppState>,
    editor: Editor,
) -> Result<Json<wire::World>, Problem> {
    Ok(Json(state.service().cloud_directory(&editor).await?))
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
        (status = 403, description = "Not a vendor key of one cloud, or `products` that are not in the shared catalog as they are (a key of one cloud may not change the catalog).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A record of another cloud, or a rule of a valid directory broken; every problem is named.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_directory(
    State(state): State<AppState>,
    editor: Editor,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DirectoryCounts>, Problem> {
    let cloud = editor.directory_cloud("replace the directory")?.to_owned();
    let body = body?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| Problem::new(Kind::Malformed, "the body is not UTF-8 text"))?;
    let world = wire::World::from_json(text).map_err(|e| {
        Problem::new(
            Kind::Malformed,
            format!("not a directory in the world format: {e}"),
        )
    })?;
    let counts = DirectoryCounts {
        cloud,
        products: world.products.len(),
        partners: world.partners.len(),
        customers: world.customers.len(),
        subscriptions: world.subscriptions.len(),
    };
    state.service().replace_cloud(&editor, world, now()).await?;
    Ok(Json(counts))
}
