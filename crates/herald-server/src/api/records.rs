//! The directory one record at a time, for vendor keys: a partner, customer, product or
//! subscription, and the contacts of a partner or customer, read, written or deleted.
//! What a vendor may see and change, and how a change is checked and written, is the
//! use cases' (`herald-service`); here a path becomes a request and an answer a status.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_domain::wire::{self, Record, RecordKind};
use herald_service::{Caller, Editor};
use serde_json::Value;

use super::schema::{self, RecordBody};
use super::Body;
use crate::clock::now;
use crate::problem::Problem;
use crate::state::AppState;

/// The kind of record a path's `{kind}` names; any other is no path of the API.
fn record_kind(name: &str) -> Result<RecordKind, Problem> {
    match name {
        "products" => Ok(RecordKind::Product),
        "partners" => Ok(RecordKind::Partner),
        "customers" => Ok(RecordKind::Customer),
        "subscriptions" => Ok(RecordKind::Subscription),
        _ => Err(Problem::not_found("such path; see /openapi.json")),
    }
}

/// The kind of organisation a contact path's `{kind}` names.
fn organisation_kind(name: &str) -> Result<RecordKind, Problem> {
    match record_kind(name)? {
        kind @ (RecordKind::Partner | RecordKind::Customer) => Ok(kind),
        _ => Err(Problem::not_found("such path; see /openapi.json")),
    }
}

/// 200 for a put that replaced a record or contact, 201 for one that added it.
fn status(replaced: bool) -> StatusCode {
    if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
}

/// One record of the directory: a product of the catalog, or a partner, customer or
/// subscription of the key's cloud.
#[utoipa::path(
    get,
    path = "/v1/directory/{kind}/{id}",
    params(
        ("kind" = schema::RecordKind, Path, description = "The kind of record."),
        ("id" = String, Path, description = "The record's id."),
    ),
    responses(
        (status = 200, description = "The record in the world format, contacts included.", body = RecordBody),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record in the key's cloud or the catalog.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_record(
    State(state): State<AppState>,
    editor: Editor,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Record>, Problem> {
    let Path((kind, id)) = path?;
    let record = state
        .service()
        .record(&editor, record_kind(&kind)?, &id)
        .await?;
    Ok(Json(record))
}

/// Puts a record in place of the one with its id, or adds it: a product to the shared
/// catalog, or a partner, customer or subscription of the key's cloud.
#[utoipa::path(
    put,
    path = "/v1/directory/{kind}/{id}",
    params(
        ("kind" = schema::RecordKind, Path, description = "The kind of record."),
        ("id" = String, Path, description = "The record's id; the body's `id` must be the same."),
    ),
    request_body(content = RecordBody, description = "The record in the world format. A partner or customer naming no `cloud` is in the key's cloud."),
    responses(
        (status = 200, description = "Replaced: the record as stored.", body = RecordBody),
        (status = 201, description = "Added: the record as stored.", body = RecordBody),
        (status = 400, description = "Not a record of this kind in the world format.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key; a product by a key of one cloud (the catalog every cloud shares is changed by a key for every cloud); anything but a product by a key for every cloud.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The id is taken by a record the key may not see.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An `id` other than the path's, another cloud in `cloud`, or a rule of a valid directory broken; the record and field are named and nothing is written.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_record(
    State(state): State<AppState>,
    editor: Editor,
    path: Result<Path<(String, String)>, PathRejection>,
    Body(body): Body<Value>,
) -> Result<Response, Problem> {
    let Path((kind, id)) = path?;
    let placed = state
        .service()
        .put_record(&editor, record_kind(&kind)?, &id, body, now())
        .await?;
    Ok((status(placed.replaced), Json(placed.stored)).into_response())
}

/// Deletes a record no other record names: a product of the catalog, or a partner,
/// customer or subscription of the key's cloud.
#[utoipa::path(
    delete,
    path = "/v1/directory/{kind}/{id}",
    params(
        ("kind" = schema::RecordKind, Path, description = "The kind of record."),
        ("id" = String, Path, description = "The record's id."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key; a product by a key of one cloud; anything but a product by a key for every cloud.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record in the key's cloud or the catalog.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Other records name it (subscriptions of a customer, partner or product; customers an advisor names): the answer says which, and what to change first.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_record(
    State(state): State<AppState>,
    editor: Editor,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path((kind, id)) = path?;
    state
        .service()
        .delete_record(&editor, record_kind(&kind)?, &id, now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One contact of a partner or customer of the key's cloud.
#[utoipa::path(
    get,
    path = "/v1/directory/{kind}/{id}/contacts/{contact}",
    params(
        ("kind" = schema::OrganisationKind, Path, description = "The kind of organisation."),
        ("id" = String, Path, description = "The partner's or customer's id."),
        ("contact" = String, Path, description = "The contact's id."),
    ),
    responses(
        (status = 200, description = "The contact in the world format.", body = schema::Contact),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation in the key's cloud, or no such contact of it.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_contact(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Json<wire::Contact>, Problem> {
    let Path((kind, id, contact)) = path?;
    let found = state
        .service()
        .contact(&caller, organisation_kind(&kind)?, &id, &contact)
        .await?;
    Ok(Json(found))
}

/// Puts a contact of a partner or customer of the key's cloud in place of the one with its
/// id, or adds it. Contact ids are unique across the directory.
#[utoipa::path(
    put,
    path = "/v1/directory/{kind}/{id}/contacts/{contact}",
    params(
        ("kind" = schema::OrganisationKind, Path, description = "The kind of organisation."),
        ("id" = String, Path, description = "The partner's or customer's id."),
        ("contact" = String, Path, description = "The contact's id; the body's `id` must be the same."),
    ),
    request_body(content = schema::Contact, description = "The contact in the world format."),
    responses(
        (status = 200, description = "Replaced: the contact as stored.", body = schema::Contact),
        (status = 201, description = "Added: the contact as stored.", body = schema::Contact),
        (status = 400, description = "Not a contact in the world format.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation in the key's cloud.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An `id` other than the path's, or a rule of a valid directory broken (a contact id another contact has, say); nothing is written.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_contact(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
    Body(body): Body<Value>,
) -> Result<Response, Problem> {
    let Path((kind, id, contact)) = path?;
    let placed = state
        .service()
        .put_contact(
            &caller,
            organisation_kind(&kind)?,
            &id,
            &contact,
            body,
            now(),
        )
        .await?;
    Ok((status(placed.replaced), Json(placed.stored)).into_response())
}

/// Deletes a contact of a partner or customer of the key's cloud.
#[utoipa::path(
    delete,
    path = "/v1/directory/{kind}/{id}/contacts/{contact}",
    params(
        ("kind" = schema::OrganisationKind, Path, description = "The kind of organisation."),
        ("id" = String, Path, description = "The partner's or customer's id."),
        ("contact" = String, Path, description = "The contact's id."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation in the key's cloud, or no such contact of it.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_contact(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path((kind, id, contact)) = path?;
    state
        .service()
        .delete_contact(&caller, organisation_kind(&kind)?, &id, &contact, now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
