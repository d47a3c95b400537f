//! The routes under `/v1`, the health and readiness checks, the metrics and the OpenAPI
//! document.

mod audit;
mod deliveries;
mod directory;
mod endpoints;
mod inbox;
mod messages;
mod meta;
mod records;
pub mod schema;
mod threads;
mod views;

use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::config::ServeConfig;
use crate::problem::{Kind, Problem};
use crate::state::AppState;
use crate::{edge, metrics};

/// The OpenAPI 3.1 document of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald",
        description = "Tells a vendor's customers and partners what they need to hear, and only that."
    ),
    paths(
        meta::healthz,
        meta::readyz,
        directory::get_directory,
        directory::put_directory,
        records::get_record,
        records::put_record,
        records::delete_record,
        records::get_contact,
        records::put_contact,
        records::delete_contact,
        messages::post_message,
        messages::post_route,
        messages::list_messages,
        messages::get_message,
        messages::get_decisions,
        messages::get_explanation,
        inbox::get_inbox,
        inbox::post_read,
        threads::get_thread,
        threads::get_partner_notices,
        deliveries::list_deliveries,
        deliveries::get_delivery,
        deliveries::post_retry,
        endpoints::post_endpoint,
        endpoints::list_endpoints,
        endpoints::get_endpoint,
        endpoints::delete_endpoint,
        endpoints::rotate_endpoint,
        endpoints::disable_endpoint,
        endpoints::enable_endpoint,
        endpoints::test_endpoint,
        audit::list_audit,
    ),
    components(schemas(
        Problem,
        herald_domain::wire::Message,
        schema::WorldBody,
        schema::RecordBody,
        schema::RecordKind,
        schema::OrganisationKind
    )),
    modifiers(&BearerKeys, &EdgeAnswers),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// Declares the bearer API keys.
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Declares what any operation may be answered before it runs: a URI or headers over the
/// limits of [`edge`].
struct EdgeAnswers;

impl Modify for EdgeAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        let answers = [
            (
                "414",
                problem("The URI is over 8 KiB (`/problems/uri-too-long`)."),
            ),
            (
                "431",
                problem("The headers are over 16 KiB together (`/problems/headers-too-large`)."),
            ),
        ];
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (status, answer) in &answers {
                    operation
                        .responses
                        .responses
                        .insert((*status).to_owned(), answer.clone().into());
                }
            }
        }
    }
}

/// Every route of the server.
pub fn router(state: AppState, config: &ServeConfig) -> Router {
    let routes = Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/metrics", get(meta::metrics))
        .route("/openapi.json", get(meta::openapi))
        .route(
            "/v1/directory",
            get(directory::get_directory).put(directory::put_directory),
        )
        .route(
            "/v1/directory/{kind}/{id}",
            get(records::get_record)
                .put(records::put_record)
                .delete(records::delete_record),
        )
        .route(
            "/v1/directory/{kind}/{id}/contacts/{contact}",
            get(records::get_contact)
                .put(records::put_contact)
                .delete(records::delete_contact),
        )
        .route(
            "/v1/messages",
            post(messages::post_message).get(messages::list_messages),
        )
        .route("/v1/route", post(messages::post_route))
        .route("/v1/messages/{id}", get(messages::get_message))
        .route("/v1/messages/{id}/decisions", get(messages::get_decisions))
        .route("/v1/messages/{id}/explain", get(messages::get_explanation))
        .route("/v1/inbox", get(inbox::get_inbox))
        .route("/v1/inbox/{id}/read", post(inbox::post_read))
        .route("/v1/threads/{id}", get(threads::get_thread))
        .route("/v1/partner/notices", get(threads::get_partner_notices))
        .route("/v1/deliveries", get(deliveries::list_deliveries))
        .route("/v1/deliveries/{id}", get(deliveries::get_delivery))
        .route("/v1/deliveries/{id}/retry", post(deliveries::post_retry))
        .route(
            "/v1/endpoints",
            post(endpoints::post_endpoint).get(endpoints::list_endpoints),
        )
        .route(
            "/v1/endpoints/{id}",
            get(endpoints::get_endpoint).delete(endpoints::delete_endpoint),
        )
        .route(
            "/v1/endpoints/{id}/rotate",
            post(endpoints::rotate_endpoint),
        )
        .route(
            "/v1/endpoints/{id}/disable",
            post(endpoints::disable_endpoint),
        )
        .route(
            "/v1/endpoints/{id}/enable",
            post(endpoints::enable_endpoint),
        )
        .route("/v1/endpoints/{id}/test", post(endpoints::test_endpoint))
        .route("/v1/audit", get(audit::list_audit))
        .merge(crate::console::routes())
        .fallback(meta::no_route)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(middleware::from_fn_with_state(
            std::sync::Arc::clone(state.metrics()),
            metrics::count,
        ))
        .layer(middleware::from_fn(crate::request_log::log))
        .with_state(state);
    // Around the whole router, not each route, so it sees what routing answers itself (a
    // 405 with its `Allow`).
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(edge::problems))
}

/// A JSON object request body whose rejection is a problem. Anything but an object is
/// refused, though serde would read an array as a struct's fields in order.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let Json(value) = Json::<Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(Problem::new(
                Kind::Malformed,
                "the body must be a JSON object",
            ));
        }
        serde_json::from_value(value).map(Body).map_err(|e| {
            Problem::new(
                Kind::Malformed,
                format!("the body is not the expected shape: {e}"),
            )
        })
    }
}
