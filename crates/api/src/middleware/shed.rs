//! Load shedding (SPEC §3.3 step 1, after the per-IP rate limit): at most
//! `limits.max_concurrency_per_ip` requests of one client address and
//! `limits.max_concurrency` in total are served at once; the next one is
//! answered 503 `overloaded` at once, with `Retry-After: 1`, instead of
//! queueing without bound. The per-address cap comes first, so one address
//! (slow bodies, say) cannot take the global cap from everybody else.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use slipgate_guard::Rejection;
use slipgate_guard::ratelimit::ClientAddr;
use slipgate_proto::ProblemCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The permits, shared by every connection of the API listener.
#[derive(Debug, Clone)]
pub struct InFlight {
    global: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, u32>>>,
    max_per_ip: u32,
}

impl InFlight {
    /// `max` requests at once in total, `max_per_ip` per client address.
    pub fn new(max: usize, max_per_ip: u32) -> Self {
        Self { global: Arc::new(Semaphore::new(max)), per_ip: Arc::default(), max_per_ip }
    }

    /// A place for one request of `client`, or `None` when either cap is full.
    pub fn try_acquire(&self, client: IpAddr) -> Option<Permit> {
        {
            let mut map = self.per_ip.lock().ok()?;
            let count = map.entry(client).or_insert(0);
            if *count >= self.max_per_ip {
                return None;
            }
            *count += 1;
        }
        // From here the per-address place is held: `Permit` gives it back.
        let mut permit = Permit { owner: self.clone(), client, _global: None };
        permit._global = Some(self.global.clone().try_acquire_owned().ok()?);
        Some(permit)
    }
}

/// One request's places under both caps.
#[derive(Debug)]
pub struct Permit {
    owner: InFlight,
    client: IpAddr,
    _global: Option<OwnedSemaphorePermit>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut map) = self.owner.per_ip.lock()
            && let Some(count) = map.get_mut(&self.client)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.client);
            }
        }
    }
}

/// A permit for `request`, `None` when its client's or the global cap is
/// reached. The per-IP rate-limit layer, outside, names the client (trusted
/// proxies and the IPv6 prefix applied); the peer otherwise.
pub fn permit(in_flight: &InFlight, request: &Request) -> Option<Permit> {
    let client = match request.extensions().get::<ClientAddr>() {
        Some(addr) => addr.0,
        None => request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ci| ci.0.ip()),
    };
    in_flight.try_acquire(client)
}

/// The answer when [`permit`] finds no room: 503 `overloaded`, `Retry-After: 1`.
pub fn at_capacity() -> Response {
    Rejection::new(ProblemCode::Overloaded, "the server is at capacity; retry shortly")
        .with_retry_after(Duration::from_secs(1))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_the_global_cap() {
        let in_flight = InFlight::new(4, 2);
        let a: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        let b: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let held: Vec<_> = (0..2).filter_map(|_| in_flight.try_acquire(a)).collect();
        assert_eq!(held.len(), 2);
        assert!(in_flight.try_acquire(a).is_none(), "a third request of one address");
        let other: Vec<_> = (0..2).filter_map(|_| in_flight.try_acquire(b)).collect();
        assert_eq!(other.len(), 2);
        assert!(in_flight.try_acquire(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))).is_none(), "global cap");
        drop(held);
        assert!(in_flight.try_acquire(a).is_some());
        drop(other);
        assert!(in_flight.per_ip.lock().map(|m| m.len()).unwrap_or(9) <= 1, "entries are released");
    }
}
