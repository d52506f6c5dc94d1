//! Every integration test of hotline-bridge, in one test binary.
//!
//! Each file beside this one (and `api_routes/`) is a module of this crate, with the shared
//! helpers in `common/`. One binary instead of one per file: every test binary statically links
//! the service with its language models (~160 MB each in a debug build), so a hundred of them
//! took 12 GB of disk and a hundred links; one takes one. Run a file's tests with its module
//! name as the filter, e.g. `cargo test --test suite e2e_story::`.
//!
//! Two files are binaries of their own, because they read the process-wide metrics recorder
//! exactly (one app's counts, no other app's in the same process): `metrics` and `call_record`.

mod common;

mod abuse_connections;
mod abuse_signalling;
mod admin_api;
mod api_routes;
mod call_leaving_number;
mod call_media;
mod callbacks_api;
mod caller_page;
mod calls_api;
mod case_returning_caller;
mod cases_api;
mod cli_admin;
mod cli_coverage;
mod cli_import;
mod cli_supervisor;
mod client_privacy;
mod cluster_script;
mod console_catalogs;
mod console_ice_servers;
mod coverage_api;
mod dashboard_api;
mod deploy_files;
mod detect_api;
mod detect_js;
mod dispatch_by_name;
mod dispatch_cross_node;
mod dispatch_escalation;
mod dispatch_fairness;
mod dispatch_lost_accept;
mod dispatch_parallel;
mod dispatch_pause;
mod dispatch_predispatch;
mod dispatch_queue;
mod dispatch_replacement;
mod dispatch_sequential;
mod dispatch_two_nodes;
mod dispatch_wording;
mod drain_sessions;
mod e2e_a11y;
mod e2e_callback;
mod e2e_caller_states;
mod e2e_cases;
mod e2e_console_language;
mod e2e_consoles;
mod e2e_cross_node;
mod e2e_dashboard;
mod e2e_interpreter_protocol;
mod e2e_pages;
mod e2e_phone;
mod e2e_queue_wait;
mod e2e_reconnect;
mod e2e_recordings;
mod e2e_reports;
mod e2e_story;
mod e2e_story_https;
mod e2e_supervisor;
mod e2e_university;
mod e2e_viewports;
mod health;
mod https;
mod interpreter_brief;
mod layering;
mod media_bursts;
mod media_events;
mod media_routes;
mod media_shards;
mod node_lease;
mod openapi;
mod page_icons;
mod phone_duty;
mod pool_contract;
mod pool_fault;
mod pool_race;
mod queue_limits;
mod recordings;
mod redis_isolation;
mod redis_sentinel;
mod reports_api;
mod roster_seed;
mod security_headers;
mod shutdown;
mod signalling;
mod sip_bad_requests;
mod sip_baresip;
mod sip_behind_proxy;
mod sip_case_number;
mod sip_dtmf;
mod sip_hold_tone;
mod sip_inbound_call;
mod sip_interpreter_phone;
mod sip_invite_flood;
mod sip_menu;
mod sip_no_dial_out;
mod sip_options;
mod sip_phone_audio;
mod sip_phone_story;
mod sip_queue_wait;
mod sip_refusal;
mod store_contract;
mod store_reports;
mod supervisor_api;
mod supervisor_in_call;
mod turn_relay;
mod university_api;
mod university_input;
mod university_isolation;
