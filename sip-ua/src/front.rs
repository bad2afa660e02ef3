//! The user agent's API front, shared by the runtime crates: the handles' way to the
//! routers. A runtime crate's `UserAgent` holds one, next to its sockets.

use std::sync::atomic::{AtomicUsize, Ordering};

use sip_core::endpoint::{InviteOptions, RegisterOptions};
use sip_core::message::Method;

use crate::call::{CallBuilder, IncomingCalls};
use crate::chan::{mpsc, oneshot};
use crate::command::{Command, Link, RequestSpec};
use crate::error::{Error, Result};
use crate::registration::Registration;
use crate::request::{IncomingRequests, RequestBuilder};
use crate::stats::UaStats;
use crate::{Body, RouterLink};

/// Places calls and requests, and takes incoming ones, through one or more
/// [routers](crate::runtime::Router) (new calls and requests go to them in turn).
#[derive(Debug)]
pub struct UaFront {
    links: Vec<Link>,
    next: AtomicUsize,
    identity: String,
    subscriber_capacity: usize,
}

impl UaFront {
    /// A front over the routers' links (from [`Router::new`](crate::runtime::Router::new)):
    /// `identity` is the From of what it sends, `subscriber_capacity` how many incoming
    /// calls (or requests) may wait in a stream before the core declines more.
    pub fn new(links: Vec<RouterLink>, identity: String, subscriber_capacity: usize) -> Self {
        UaFront {
            links: links.into_iter().map(|l| l.0).collect(),
            next: AtomicUsize::new(0),
            identity,
            subscriber_capacity,
        }
    }

    /// The From value used when a call or request does not set one.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The router that takes the next new call or request (round robin).
    fn link(&self) -> Result<Link> {
        let n = self.links.len();
        let i = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
        self.links.get(i).cloned().ok_or(Error::Shutdown)
    }

    /// Places a call to `uri` (an INVITE, RFC 3261 §13.2): set the body and headers on the
    /// returned builder, then `.await` it for the [`Call`](crate::Call).
    pub fn call(&self, uri: &str) -> CallBuilder {
        let opts = InviteOptions::new(uri, self.identity.clone(), format!("<{uri}>"));
        CallBuilder::new(self.link(), opts)
    }

    /// The calls placed to this user agent, from now on; calling it again hands them to
    /// the new stream.
    pub fn incoming(&self) -> IncomingCalls {
        let (tx, rx) = mpsc::channel(self.subscriber_capacity);
        for link in &self.links {
            let _ = link.send(Command::SubscribeCalls(tx.clone()));
        }
        IncomingCalls::new(rx)
    }

    /// Sends a request outside any dialog (RFC 3261 §8.1, §11): `.await` the returned
    /// builder for the final response.
    pub fn request(&self, method: Method, uri: &str) -> RequestBuilder {
        let spec = RequestSpec {
            method,
            uri: uri.to_owned(),
            from: self.identity.clone(),
            to: format!("<{uri}>"),
            headers: Vec::new(),
            body: None,
            target: None,
        };
        RequestBuilder::new(self.link(), spec)
    }

    /// Sends an instant message outside any call (MESSAGE, RFC 3428 §4).
    pub fn send_message(&self, uri: &str, body: Body) -> RequestBuilder {
        let (content_type, bytes) = body.as_parts();
        self.request(Method::Message, uri).body(content_type, bytes)
    }

    /// Registers a binding with a registrar (RFC 3261 §10.2) and keeps it fresh.
    pub async fn register(&self, opts: RegisterOptions) -> Result<Registration> {
        let link = self.link()?;
        let (id, shared) = link.ask(|r| Command::Register(Box::new(opts), r)).await?;
        Ok(Registration { id, link, shared })
    }

    /// The requests received outside any dialog (other than INVITE), from now on.
    pub fn incoming_requests(&self) -> IncomingRequests {
        let (tx, rx) = mpsc::channel(self.subscriber_capacity);
        for link in &self.links {
            let _ = link.send(Command::SubscribeRequests(tx.clone()));
        }
        IncomingRequests::new(rx)
    }

    /// The routers' counters summed, beside the runtime's transport counters.
    pub async fn stats<T>(&self, transport: T) -> Result<UaStats<T>> {
        let mut total = UaStats {
            transport,
            endpoint: Default::default(),
            calls: Default::default(),
            active_calls: 0,
            dialogs: 0,
            client_transactions: 0,
            server_transactions: 0,
            lingering_transactions: 0,
            shedding: false,
        };
        for link in &self.links {
            let s = link.ask(Command::Stats).await?;
            total.add_shard(&s);
        }
        Ok(total)
    }

    /// Shuts the routers down gracefully and waits until each is done (its calls over,
    /// its requests answered, its BYEs answered or the grace period passed); the runtime
    /// closes its sockets after.
    pub async fn shutdown(&self) {
        let mut waits = Vec::new();
        for link in &self.links {
            let (tx, rx) = oneshot::channel();
            if link.send(Command::Shutdown(tx)).is_ok() {
                waits.push(rx);
            }
        }
        for w in waits {
            let _ = w.await;
        }
    }
}
