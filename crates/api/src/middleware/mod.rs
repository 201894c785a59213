//! The API's own middleware, outermost first: response signing and problem
//! rendering ([`respond`], [`response_sig`]), load shedding ([`shed`]) and the
//! `Host` check ([`authority`]). The guard layers of SPEC §3.3 come from
//! `slipgate-guard`.

pub mod authority;
pub mod respond;
pub mod response_sig;
pub mod shed;
