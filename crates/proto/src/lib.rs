//! Wire types shared by the Slipgate server and its clients.
//!
//! Everything a client and the server must agree on byte for byte lives here, so
//! neither side can drift: the salary-slip request and its strict parser
//! ([`SlipRequest::parse_strict`]), the slip document ([`Slip`]), the problem
//! codes of SPEC §3.6 ([`ProblemCode`]) and the problem-details body
//! ([`Problem`]), the header names the signature scheme relies on
//! ([`headers`]), the slip's two representations ([`Format`]), and the
//! labels, covered components and tags of the signatures ([`signature`]).
//! Beside the wire types, what every crate shares without depending on
//! another: the OAuth contract between the identity server, the guard and the
//! SDK ([`oauth`]), time as a trait ([`clock`]), the layered configuration
//! loader ([`config`]), units such as `30s` and `16KiB` ([`units`]), address
//! ranges and trusted proxies ([`net`], [`forwarded`]), private files
//! ([`files`]) and, with the `tls` feature, the one rustls client
//! configuration (`tls`).
//!
//! ```
//! use slipgate_proto::{ProblemCode, SlipRequest};
//!
//! let body = br#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}"#;
//! let request = SlipRequest::parse_strict(body).unwrap();
//! assert_eq!(request.emp_name, "John Doe");
//!
//! let duplicate = br#"{"emp_id":"1","emp_id":"2"}"#;
//! let err = SlipRequest::parse_strict(duplicate).unwrap_err();
//! assert_eq!(err.code(), ProblemCode::ValidationFailed);
//! ```
//!
//! # Security
//! The parser is the first thing that interprets attacker-controlled JSON after
//! the signature layer. It rejects unknown and duplicate members (a classic
//! smuggling vector when two parsers disagree on which duplicate wins), wrong
//! JSON types and malformed text, and it never echoes field *values* back in
//! its messages, only field names.

mod format;
mod problem;
mod request;
mod slip;

pub mod clock;
pub mod config;
pub mod files;
pub mod forwarded;
pub mod headers;
pub mod logsink;
pub mod net;
pub mod oauth;
pub mod signature;
#[cfg(feature = "tls")]
pub mod tls;
pub mod units;

pub use format::Format;
pub use problem::{FieldError, Presentation, Problem, ProblemCode, UnknownProblemCode};
pub use request::{RequestError, SlipBody, SlipRequest, check_member, parse_period};
pub use slip::{Employee, LineItem, Period, Slip};

/// The one path of the salary-slip endpoint (SPEC §3).
pub const SLIP_PATH: &str = "/generate/salaryslip";
