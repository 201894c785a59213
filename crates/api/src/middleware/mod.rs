//! The API's own middleware and the one problem renderer, outermost first:
//! response signing ([`sign`], with the key and signer of [`response_sig`]),
//! request ids, problem rendering, security headers and the audit line
//! ([`respond`], rendering with [`problem`]) — one middleware,
//! [`sign::respond_and_sign`] —, then load shedding ([`shed`], SPEC §3.3 step 1
//! after the per-IP limit) and the `Host` check ([`authority`]) — one
//! middleware, [`authority::admission`] —, and on the slip route the request
//! shape ([`shape`]), step 2 like the `Host` check. The guard
//! layers (steps 1 and 3–9) come from `slipgate-guard`; [`crate::guard_stack`]
//! composes them.

pub mod authority;
pub mod problem;
pub mod respond;
pub mod response_sig;
pub mod shape;
pub mod shed;
pub mod sign;
