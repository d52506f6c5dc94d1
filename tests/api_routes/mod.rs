//! Every route of `api::router`, driven in process with `tower::ServiceExt::oneshot` (no
//! listener): one success and the main refusals of each, asserting the status and, for errors,
//! the JSON body `{"error": {"code", "message"}}` with its code.

mod admin;
mod calls;
mod operator;
mod public;
mod supervisor;
mod support;
mod university;
