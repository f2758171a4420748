//! The answers every route gets from the layers and extractors around its
//! handler (authentication, path and query decoding, JSON bodies, the origin
//! check, body limits, the rate limit, the timeout, internal errors), added
//! to each operation from what its description says about it.
use std::collections::btree_map::Entry;

use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Content, HeaderBuilder, OpenApi, Ref, RefOr};

/// The paths the per-IP limits, the timeout and the origin check guard
/// (`/health` and `/ready` are outside them).
fn behind_rest_layers(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/uploads/")
}

/// Adds to every operation the answers it gets from the layers and
/// extractors around its handler.
pub(super) fn add_layer_answers(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !behind_rest_layers(path) {
            continue;
        }
        let has_id = path.contains("{id}");
        for (method, operation) in operations(item) {
            let changes_state = method != "get";
            let secured = operation
                .security
                .as_ref()
                .is_some_and(|requirements| !requirements.is_empty());
            let json_body = operation.request_body.as_ref().is_some_and(|body| {
                body.content.contains_key("application/json")
                    && matches!(body.required, Some(utoipa::openapi::Required::True))
            });
            let query = operation
                .parameters
                .iter()
                .flatten()
                .any(|parameter| matches!(parameter.parameter_in, ParameterIn::Query));
            if secured {
                add_answer(
                    operation,
                    "401",
                    "No access token, or a malformed, expired or ended one (`unauthorized`).",
                );
            }
            if has_id {
                add_answer(
                    operation,
                    "400",
                    "`id` is not an integer (`invalid_parameter`) or not positive \
                     (`validation_failed`, `details.id`).",
                );
            }
            if query {
                add_answer(
                    operation,
                    "400",
                    "A query parameter has the wrong type (`invalid_parameter`), e.g. \
                     `limit=abc`.",
                );
            }
            if json_body {
                add_answer(
                    operation,
                    "400",
                    "The body is not JSON or not of the expected shape (`invalid_body`).",
                );
                add_answer(
                    operation,
                    "415",
                    "The body is not `Content-Type: application/json` \
                     (`unsupported_media_type`).",
                );
            }
            if changes_state {
                add_answer(
                    operation,
                    "403",
                    "A request authenticated by the cookie alone from an origin that is not \
                     allowed (`csrf_rejected`).",
                );
                add_answer(
                    operation,
                    "413",
                    "The body is larger than the route accepts (`payload_too_large`).",
                );
            }
            add_answer(
                operation,
                "429",
                "Too many requests from this client address (`rate_limited`): retry after \
                 `Retry-After` seconds (also in `details.retry_after`).",
            );
            if let Some(RefOr::T(limited)) = operation.responses.responses.get_mut("429") {
                limited.headers.entry("Retry-After".to_owned()).or_insert(
                    HeaderBuilder::new()
                        .schema(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::schema::Type::Integer),
                        )
                        .description(Some("Seconds to wait before trying again."))
                        .build(),
                );
            }
            add_answer(
                operation,
                "500",
                "A server-side failure (`internal_error`); the cause is logged, never sent.",
            );
            operation
                .responses
                .responses
                .entry("408".to_owned())
                .or_insert_with(|| {
                    ResponseBuilder::new()
                        .description("The request took longer than 30 s; no body.")
                        .build()
                        .into()
                });
        }
    }
}

/// The operations of a path, with their lower-case method.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
    .collect()
}

/// Adds an error answer with the error body, or the sentence to the
/// description of the answer the operation already has for `status`.
fn add_answer(operation: &mut Operation, status: &str, sentence: &str) {
    match operation.responses.responses.entry(status.to_owned()) {
        Entry::Occupied(mut entry) => {
            if let RefOr::T(response) = entry.get_mut()
                && !response.description.contains(sentence)
            {
                response.description.push(' ');
                response.description.push_str(sentence);
            }
        }
        Entry::Vacant(entry) => {
            entry.insert(
                ResponseBuilder::new()
                    .description(sentence)
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                    )
                    .build()
                    .into(),
            );
        }
    }
}
