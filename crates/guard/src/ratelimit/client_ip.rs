//! Which address a request counts against (SPEC §3.7): the rules live in
//! [`slipgate_proto::forwarded`], shared with the identity server's throttle.

pub use slipgate_proto::forwarded::{
    InvalidProxy, IpRange, MAX_FORWARDED_ENTRIES, TrustedProxies, client_ip,
};
