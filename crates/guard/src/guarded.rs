//! The one shape of every guard layer: a [`Guard`] decides, [`Guarded`]
//! adapts it to tower (after tower-http's `AsyncRequireAuthorization`, plus a
//! hook on the way out).
//!
//! A guard's [`Guard::admit`] takes the request and either hands it on —
//! with what it proved added to the extensions — or refuses with a
//! [`Rejection`]; a refused request never reaches the inner service. Whatever
//! answer comes back, the inner service's or the refusal, passes
//! [`Guard::finish`] with the guard's [`Guard::Note`] (the rate-limit headers,
//! the verified key for the response signature, the subject for the audit).
//! Request and response bodies are generic; a guard that reads the body (the
//! signature layer) passes on an empty one and the bytes as an extension.
//! Several guards in a row are one [`Chain`] under one [`Guarded`]: the same
//! order of admits and finishes as nested layers, for one boxed future.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use slipgate_guard::{Guard, Guarded, Rejection};
//! use slipgate_proto::ProblemCode;
//! use tower::ServiceExt as _;
//!
//! /// Refuses requests without a `x-ticket` header.
//! #[derive(Debug, Clone)]
//! struct Ticket;
//!
//! impl<B: Send + 'static> Guard<B> for Ticket {
//!     type Note = ();
//!     async fn admit(&self, request: Request<B>, _: &mut ()) -> Result<Request<B>, Rejection> {
//!         match request.headers().contains_key("x-ticket") {
//!             true => Ok(request),
//!             false => Err(Rejection::new(ProblemCode::Forbidden, "no ticket")),
//!         }
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let inner = tower::service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
//! let answer = Guarded::new(Ticket, inner).oneshot(Request::new(String::new())).await.unwrap();
//! assert_eq!(answer.status(), 403);
//! assert!(answer.extensions().get::<Rejection>().is_some());
//! # });
//! ```

use std::future::Future;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::{Request, Response};
use tower::Service;

use crate::Rejection;

/// A decision about a request, adapted to tower by [`Guarded`].
pub trait Guard<B>: Clone + Send + Sync + 'static {
    /// What [`Self::admit`] leaves for [`Self::finish`]; `()` when nothing.
    type Note: Default + Send + 'static;

    /// Admits the request (returning it, with what the guard proved in its
    /// extensions) or refuses it.
    fn admit(
        &self,
        request: Request<B>,
        note: &mut Self::Note,
    ) -> impl Future<Output = Result<Request<B>, Rejection>> + Send;

    /// Runs on every answer leaving the layer, the inner service's or the
    /// guard's own refusal.
    fn finish<R>(&self, note: Self::Note, response: &mut Response<R>) {
        let _ = (note, response);
    }
}

/// Two guards as one: `A`, then `Z` on what `A` admitted; on the way out `Z`
/// finishes (when it ran), then `A` — what `Guarded<A, Guarded<Z, S>>` does,
/// with one boxed future and one clone of the inner service per request
/// rather than one per guard (n nested layers clone the services below them
/// n(n+1)/2 times). Nest it for more: `Chain(a, Chain(b, c))`.
#[derive(Debug, Clone)]
pub struct Chain<A, Z>(pub A, pub Z);

impl<B, A, Z> Guard<B> for Chain<A, Z>
where
    B: Send + 'static,
    A: Guard<B>,
    Z: Guard<B>,
{
    type Note = (A::Note, Option<Z::Note>);

    async fn admit(&self, request: Request<B>, note: &mut Self::Note) -> Result<Request<B>, Rejection> {
        let request = self.0.admit(request, &mut note.0).await?;
        let mut inner = Z::Note::default();
        let admitted = self.1.admit(request, &mut inner).await;
        note.1 = Some(inner);
        admitted
    }

    fn finish<R>(&self, (outer, inner): Self::Note, response: &mut Response<R>) {
        if let Some(inner) = inner {
            self.1.finish(inner, response);
        }
        self.0.finish(outer, response);
    }
}

/// The service of every guard layer: [`Guard::admit`], then the inner service
/// or the refusal, then [`Guard::finish`].
#[derive(Debug, Clone)]
pub struct Guarded<G, S> {
    guard: G,
    inner: S,
}

impl<G, S> Guarded<G, S> {
    /// `inner` behind `guard`.
    pub fn new(guard: G, inner: S) -> Self {
        Self { guard, inner }
    }
}

impl<G, S, B, R> Service<Request<B>> for Guarded<G, S>
where
    G: Guard<B>,
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is the one that was not polled ready; keep the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let mut note = G::Note::default();
            let mut response = match guard.admit(request, &mut note).await {
                Ok(request) => inner.call(request).await?,
                Err(rejection) => rejection.into_response(),
            };
            guard.finish(note, &mut response);
            Ok(response)
        })
    }
}

/// Implements [`tower::Layer`] for a guard: the layer is the guard, and
/// builds [`Guarded`] around the inner service.
macro_rules! guard_layer {
    ($($guard:ty),* $(,)?) => {$(
        impl<S> tower::Layer<S> for $guard {
            type Service = $crate::Guarded<Self, S>;
            fn layer(&self, inner: S) -> Self::Service {
                $crate::Guarded::new(self.clone(), inner)
            }
        }
    )*};
}
pub(crate) use guard_layer;

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use slipgate_proto::ProblemCode;
    use tower::ServiceExt as _;

    use super::*;

    /// Records its name on admit and finish; refuses when `refuse`.
    #[derive(Debug, Clone)]
    struct Step {
        name: &'static str,
        refuse: bool,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl Guard<String> for Step {
        type Note = bool;
        async fn admit(
            &self,
            request: Request<String>,
            ran: &mut bool,
        ) -> Result<Request<String>, Rejection> {
            *ran = true;
            self.log.lock().unwrap_or_else(|e| e.into_inner()).push(format!("admit {}", self.name));
            match self.refuse {
                true => Err(Rejection::new(ProblemCode::Forbidden, "refused")),
                false => Ok(request),
            }
        }
        fn finish<R>(&self, ran: bool, _: &mut Response<R>) {
            self.log.lock().unwrap_or_else(|e| e.into_inner()).push(format!("finish {} {ran}", self.name));
        }
    }

    /// The log of one request through `Chain(a, Chain(b, c))` and through the
    /// same guards nested as layers, with `refusing` refusing.
    async fn both_ways(refusing: &str) -> (Vec<String>, Vec<String>, u16, u16) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let step = |name| Step { name, refuse: name == refusing, log: log.clone() };
        let inner = tower::service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
        let chained = Guarded::new(Chain(step("a"), Chain(step("b"), step("c"))), inner);
        let status =
            chained.oneshot(Request::new(String::new())).await.unwrap_or_else(|e| match e {}).status();
        let chained_log = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
        let nested = Guarded::new(step("a"), Guarded::new(step("b"), Guarded::new(step("c"), inner)));
        let nested_status =
            nested.oneshot(Request::new(String::new())).await.unwrap_or_else(|e| match e {}).status();
        let nested_log = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
        (chained_log, nested_log, status.as_u16(), nested_status.as_u16())
    }

    #[tokio::test]
    async fn a_chain_runs_and_finishes_its_guards_exactly_as_nested_layers_do() {
        for refusing in ["none", "a", "b", "c"] {
            let (chained, nested, status, nested_status) = both_ways(refusing).await;
            assert_eq!(chained, nested, "refusing {refusing}");
            assert_eq!(status, nested_status, "refusing {refusing}");
            assert_eq!(status, if refusing == "none" { 200 } else { 403 });
        }
        let (refused_by_b, _, _, _) = both_ways("b").await;
        assert_eq!(
            refused_by_b,
            ["admit a", "admit b", "finish b true", "finish a true"],
            "c neither admits nor finishes"
        );
    }
}
