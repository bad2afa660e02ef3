//! Lingering server transactions in a compact store of their own: an INVITE server
//! transaction in Accepted until Timer L (RFC 6026 §7.1, §8.7) and a non-INVITE one in
//! Completed until Timer J (RFC 3261 §17.2.2), once their request's rows are released.
//!
//! Every answered call leaves two of these for 64·T1 (its INVITE's and its BYE's), so under
//! a sustained load they outnumber the transactions at work by far. A transaction at work
//! needs the full slot of the `servers` table (its machine, the request's rows, where its
//! responses go); a lingering one only answers what [`LingeringServer`]'s table says. So
//! when a transaction starts to linger with its rows released (see
//! `TransactionLayer::park`), it leaves its slot for a [`ParkedServer`] that keeps only:
//!
//! * what finds it: the id, the hash of its key in `server_keys`, and the
//!   [`KeptSkeleton`] (branch, CSeq, key, To tag: §17.2.3 matching, a response passed
//!   whole, an RFC 2543 ACK);
//! * its machine: the one deadline (Timer L or J), the state and the final status;
//! * where its responses go ([`Route`]: the transport, the local address and the
//!   §18.2.2 target, where a 2xx the TU passes whole goes, RFC 6026 §7.1), shared: the
//!   layer keeps the route it parked last, and a transaction whose route is the same
//!   (every call from one peer, a proxy or an SBC, over one socket) holds a reference to
//!   it rather than 100 bytes of its own;
//! * boxed, and only where the transaction re-sends a response itself, its bytes: a
//!   Completed transaction's final response over an unreliable transport (sent again to
//!   each retransmitted request), and over a connection the response §18.2.2's fallback
//!   re-sends when the connection is lost. An INVITE in Accepted over UDP keeps none (its
//!   2xx is the TU's to re-send, §13.3.1.4), so it pays for no box.
//!
//! **Ids.** A parked transaction keeps the id it had in `servers`, and the store is a hash
//! table keyed by that id. So nothing that holds the id changes when it moves: the TU's
//! [`ServerTxId`], the entry in `server_keys`, the timer queue's `TimerRef::Server`, and
//! the [`Up::ServerEnded`] that reports its end. Every lookup by id tries the slot first
//! (one comparison) and then this table; ids are never given out twice, so an id is in at
//! most one of the two, and a stale id (its transaction ended) is in neither.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use super::skeleton::KeptSkeleton;
use super::*;
use crate::transaction::{Actions, LingerState, LingeringServer};

/// Where a parked transaction's responses go (§18.2.2), shared between the parked
/// transactions that have the same (see the module docs).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Route {
    pub(super) transport: Transport,
    pub(super) local: SocketAddr,
    pub(super) target: ResponseTarget,
}

impl Route {
    /// `route` shared with `last` (the route parked last) when they are the same; `last`
    /// becomes this one's otherwise.
    pub(super) fn shared(route: Route, last: &mut Option<Arc<Route>>) -> Arc<Route> {
        match last {
            Some(l) if **l == route => Arc::clone(l),
            _ => {
                let r = Arc::new(route);
                *last = Some(Arc::clone(&r));
                r
            }
        }
    }
}

/// A lingering server transaction out of its slot (see the [module docs](self)).
#[derive(Debug)]
pub(super) struct ParkedServer {
    /// The id it had in `servers`, which the TU, `server_keys` and the timers still hold.
    pub(super) id: u64,
    /// The hash of its key in `server_keys`.
    pub(super) key_hash: u64,
    pub(super) machine: LingeringServer,
    pub(super) skel: KeptSkeleton,
    pub(super) route: Arc<Route>,
    /// The response it re-sends itself (see the module docs).
    pub(super) response: Option<Box<Bytes>>,
}

/// The parked transactions by id.
#[derive(Debug)]
pub(super) struct ParkedServers {
    table: HashTable<ParkedServer>,
    hasher: FixedState,
}

impl ParkedServers {
    /// An empty store hashing ids with `hasher`.
    pub(super) fn new(hasher: FixedState) -> Self {
        ParkedServers {
            table: HashTable::new(),
            hasher,
        }
    }

    fn hash(&self, id: u64) -> u64 {
        self.hasher.hash_one(id)
    }

    /// Files `p` under its id (not filed yet: ids are never given out twice).
    pub(super) fn insert(&mut self, p: ParkedServer) {
        let hash = self.hash(p.id);
        let hasher = &self.hasher;
        self.table.insert_unique(hash, p, |q| hasher.hash_one(q.id));
    }

    /// The transaction parked under `id`.
    #[inline]
    pub(super) fn get(&self, id: u64) -> Option<&ParkedServer> {
        if self.table.is_empty() {
            return None;
        }
        self.table.find(self.hash(id), |p| p.id == id)
    }

    /// The transaction parked under `id`, to change it.
    #[inline]
    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut ParkedServer> {
        if self.table.is_empty() {
            return None;
        }
        let hash = self.hash(id);
        self.table.find_mut(hash, |p| p.id == id)
    }

    /// Takes the transaction parked under `id` out.
    pub(super) fn remove(&mut self, id: u64) -> Option<ParkedServer> {
        let hash = self.hash(id);
        self.table
            .find_entry(hash, |p| p.id == id)
            .ok()
            .map(|e| e.remove().0)
    }

    /// The parked transactions, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &ParkedServer> {
        self.table.iter()
    }

    /// How many are parked.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// Returns memory after a peak (see [`crate::capacity`]).
    pub(super) fn shrink(&mut self) {
        if let Some(to) = crate::capacity::shrink_to(self.table.len(), self.table.capacity()) {
            let hasher = &self.hasher;
            self.table.shrink_to(to, |q| hasher.hash_one(q.id));
        }
    }

    /// How many it has room for without growing.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.table.capacity()
    }
}

impl TransactionLayer {
    /// Moves server transaction `id` out of its slot into the store of parked ones if it
    /// only lingers now, with its request's rows released: the full slot stays for a
    /// transaction that may still write a response from them (an INVITE's in Accepted whose
    /// TU re-sends its 2xx through it, RFC 6026 §7.1).
    pub(super) fn park(&mut self, id: u64) {
        // Taken apart in its slot (the slot is larger than what moves out of it).
        let Some(t) = self.servers.get_mut(&id) else {
            return;
        };
        let server::ServerMachine::Lingering(m) = &t.machine else {
            return;
        };
        if m.state() == LingerState::Terminated || m.poll_timeout() != t.armed {
            return;
        }
        let machine = m.clone();
        let Some(skel) = t.skel.take_kept() else {
            return;
        };
        let route = Route {
            transport: t.transport,
            local: t.local,
            target: t.target,
        };
        let (key_hash, response) = (t.key_hash, t.last_response.take().map(Box::new));
        self.servers.discard(&id);
        let route = Route::shared(route, &mut self.last_route);
        self.parked.insert(ParkedServer {
            id,
            key_hash,
            machine,
            skel,
            route,
            response,
        });
    }

    /// Carries out the actions of parked transaction `id`'s machine: re-sends its response
    /// where it keeps one, reports a transport failure, and forgets it when it terminates
    /// (Timer L or J, RFC 6026 §7.1, RFC 3261 §17.2.2) with [`Up::ServerEnded`] under the
    /// id the TU knows.
    pub(super) fn apply_parked(
        &mut self,
        id: u64,
        a: Actions,
        retransmit: bool,
        out: &mut impl Sink,
    ) {
        let p = match (a.transmit(), self.parked.get(id)) {
            (true, Some(p)) => Some(p),
            (true, None) => return,
            (false, _) => None,
        };
        if let Some(p) = p
            && let Some(bytes) = p.response.as_deref()
        {
            if retransmit {
                self.stats.retransmissions += 1;
            }
            let r = &p.route;
            let (t, l, d) = (r.transport, r.local, r.target.address());
            Self::transmit(out, t, Some(l), d, bytes.clone(), None);
        }
        if a.transport_failed() {
            self.up.push_back(Up::ServerFailed {
                tx: ServerTxId(id),
                failure: Failure::TransportError,
            });
        }
        if a.terminated()
            && let Some(p) = self.parked.remove(id)
        {
            self.ended_parked(&p);
        }
    }

    /// Timer L or J of parked transaction `id` is due at `now` (its queued entry is live):
    /// it terminates (RFC 6026 §7.1, RFC 3261 §17.2.2). Taken out first, so the store is
    /// searched once.
    pub(super) fn parked_timeout(&mut self, now: Instant, id: u64) {
        let Some(mut p) = self.parked.remove(id) else {
            return;
        };
        if p.machine.handle_timeout(now).terminated() {
            self.ended_parked(&p);
        } else {
            self.parked.insert(p);
        }
    }

    /// Parked transaction `p`, taken out of the store, has ended: it stops counting and
    /// matching, and the TU hears of it under its id.
    fn ended_parked(&mut self, p: &ParkedServer) {
        self.lingering = self.lingering.saturating_sub(1);
        self.server_keys.remove_hashed(p.key_hash, p.id);
        if self.config.report_ends {
            self.up.push_back(Up::ServerEnded {
                tx: ServerTxId(p.id),
            });
        }
    }

    /// A transport error for `destination` (§18.4) reaches the parked transactions whose
    /// response goes there: one whose connection is lost re-sends its response to the
    /// sent-by port once (§18.2.2), any other terminates with [`Up::ServerFailed`].
    pub(super) fn parked_transport_error(
        &mut self,
        now: Instant,
        transport: Transport,
        destination: SocketAddr,
        out: &mut impl Sink,
    ) {
        let mut ids: Vec<u64> = self
            .parked
            .iter()
            .filter(|p| p.route.transport == transport && p.route.target.address() == destination)
            .map(|p| p.id)
            .collect();
        ids.sort_unstable();
        for id in ids {
            let Some(p) = self.parked.get_mut(id) else {
                continue;
            };
            let r = &p.route;
            if let ResponseTarget::Connection { peer, fallback } = r.target
                && peer == destination
                && fallback != peer
            {
                let moved = Route {
                    transport: r.transport,
                    local: r.local,
                    target: ResponseTarget::Connection {
                        peer: fallback,
                        fallback,
                    },
                };
                p.route = Route::shared(moved, &mut self.last_route);
                if let Some(b) = p.response.as_deref() {
                    let (t, l) = (p.route.transport, p.route.local);
                    Self::transmit(out, t, Some(l), fallback, b.clone(), None);
                }
                continue;
            }
            let a = p.machine.on_transport_error(now);
            self.apply_parked(id, a, false, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ParseOptions, SipMessage, parse};
    use crate::rng::IdGenerator;
    use crate::transaction::TransactionError;
    use std::time::Duration;

    const LOCAL: &str = "192.0.2.2:5060";
    const PEER: &str = "192.0.2.1:5060";
    /// 64·T1 with the default T1 of 500 ms: Timers L and J over UDP.
    const T64: Duration = Duration::from_secs(32);

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Any instant will do as the base (tests only: the core takes time as input).
    #[allow(clippy::disallowed_methods)]
    fn t0() -> Instant {
        Instant::now()
    }

    /// A layer as the endpoint with its dialog layer sets it up: the TU re-sends its 2xx
    /// itself, so the rows go with it and an answered transaction is parked.
    fn layer() -> TransactionLayer {
        let locals = Locals::new(vec![
            LocalAddr::new(Transport::Udp, addr(LOCAL)),
            LocalAddr::new(Transport::Tcp, addr(LOCAL)),
        ]);
        let c = TxConfig {
            max_transactions: 10_000,
            max_lingering: 10_000,
            report_ends: true,
            tu_resends_2xx: true,
            ..TxConfig::default()
        };
        TransactionLayer::new(c, locals, IdGenerator::new(5), 5)
    }

    fn request(method: &str, transport: &str, branch: &str, to_tag: &str) -> Bytes {
        let cseq = if method == "INVITE" { 1 } else { 2 };
        Bytes::from(format!(
            "{method} sip:b@192.0.2.2 SIP/2.0\r\n\
             Via: SIP/2.0/{transport} 192.0.2.1:5070;branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 70\r\nTo: <sip:b@b>{to_tag}\r\nFrom: <sip:a@a>;tag=1\r\n\
             Call-ID: call-{branch}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:a@192.0.2.1>\r\nContent-Length: 0\r\n\r\n"
        ))
    }

    fn invite(branch: &str) -> Bytes {
        request("INVITE", "UDP", branch, "")
    }

    fn bye(branch: &str) -> Bytes {
        request("BYE", "UDP", branch, ";tag=b1")
    }

    fn receive(l: &mut TransactionLayer, now: Instant, t: Transport, b: Bytes) -> Vec<Transmit> {
        let mut out = Vec::new();
        l.receive(now, t, addr(PEER), addr(LOCAL), b, &mut out);
        out
    }

    /// Everything the layer reports, in order.
    fn ups(l: &mut TransactionLayer) -> Vec<Up> {
        std::iter::from_fn(|| l.poll_up()).collect()
    }

    /// The server transaction a new request created.
    fn new_tx(l: &mut TransactionLayer) -> ServerTxId {
        match ups(l).as_slice() {
            [Up::Request { tx, .. }] => *tx,
            other => panic!("one new request, not {other:?}"),
        }
    }

    fn parked(l: &TransactionLayer, tx: ServerTxId) -> bool {
        l.servers.get(&tx.0).is_none() && l.parked.get(tx.0).is_some()
    }

    fn answer(l: &mut TransactionLayer, now: Instant, tx: ServerTxId, status: u16) -> Transmit {
        let mut out = Vec::new();
        l.respond_with(now, tx, status, false, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn a_parked_transaction_takes_well_under_half_of_a_slot() {
        let parked = std::mem::size_of::<ParkedServer>();
        let slot = std::mem::size_of::<server::ServerTx>();
        assert!(parked <= 96 && 2 * parked < slot, "{parked} against {slot}");
    }

    /// §17.2.2: a retransmitted BYE after the move gets the very bytes of the 200 it got
    /// before, to the same place; the transaction counts as lingering, not at work.
    #[test]
    fn a_retransmitted_bye_after_the_move_gets_the_same_200() {
        let (mut l, t0) = (layer(), t0());
        assert!(receive(&mut l, t0, Transport::Udp, bye("b")).is_empty());
        let tx = new_tx(&mut l);
        let ok = answer(&mut l, t0, tx, 200);
        assert!(parked(&l, tx));
        assert_eq!((l.lingering(), l.counts(), l.at_work()), (1, (0, 1), 0));
        for i in 1..=3 {
            let again = receive(
                &mut l,
                t0 + Duration::from_secs(i),
                Transport::Udp,
                bye("b"),
            );
            assert_eq!(again, vec![ok.clone()], "retransmission {i}");
            assert!(ups(&mut l).is_empty());
        }
        assert_eq!(l.stats().absorbed_retransmissions, 3);
        assert_eq!(l.stats().retransmissions, 3);
        // Another BYE (another branch) is a new transaction.
        receive(&mut l, t0, Transport::Udp, bye("other"));
        assert_ne!(new_tx(&mut l), tx);
    }

    /// RFC 6026 §7.1, §8.5: an INVITE retransmission in Accepted is absorbed after the move
    /// (the 2xx is the TU's to re-send), and the ACK for the 2xx goes up.
    #[test]
    fn an_invite_retransmission_in_accepted_is_absorbed_after_the_move() {
        let (mut l, t0) = (layer(), t0());
        receive(&mut l, t0, Transport::Udp, invite("i"));
        let tx = new_tx(&mut l);
        answer(&mut l, t0, tx, 200);
        assert!(parked(&l, tx));
        assert_eq!(
            l.server_invite_state(tx),
            Some(crate::transaction::ServerInviteState::Accepted)
        );
        let again = receive(
            &mut l,
            t0 + Duration::from_secs(1),
            Transport::Udp,
            invite("i"),
        );
        assert!(again.is_empty());
        assert!(ups(&mut l).is_empty());
        assert_eq!(l.stats().absorbed_retransmissions, 1);
        // An ACK carrying the INVITE's branch (as an RFC 2543 one would) matches the
        // transaction and goes up, as for the full machine; so does the usual one.
        let ack = request("ACK", "UDP", "i", ";tag=x");
        let ack = Bytes::from(
            String::from_utf8(ack.to_vec())
                .unwrap()
                .replace("CSeq: 2", "CSeq: 1"),
        );
        assert!(receive(&mut l, t0, Transport::Udp, ack).is_empty());
        assert!(matches!(ups(&mut l).as_slice(), [Up::Ack { .. }]));
        assert!(parked(&l, tx));
    }

    /// RFC 6026 §7.1: the TU passes a further 2xx whole through the id it holds after the
    /// move; it goes where the first went. What the machine refuses stays refused, and a
    /// response to write from the released rows is refused with that reason.
    #[test]
    fn the_tus_2xx_resend_through_the_old_id_works_after_the_move() {
        let (mut l, t0) = (layer(), t0());
        receive(&mut l, t0, Transport::Udp, invite("i"));
        let tx = new_tx(&mut l);
        let ok = answer(&mut l, t0, tx, 200);
        assert!(parked(&l, tx));
        let Ok(SipMessage::Response(response)) = parse(ok.bytes.clone(), &ParseOptions::default())
        else {
            panic!("a response");
        };
        let mut out = Vec::new();
        let sent = l
            .respond(t0 + T64 / 2, tx, response, true, &mut out)
            .unwrap();
        assert_eq!(out, vec![ok.clone()]);
        assert_eq!(sent.bytes.as_ref(), Some(&ok.bytes));
        assert_eq!(
            (sent.destination, sent.local),
            (ok.destination, addr(LOCAL))
        );
        assert_eq!(
            l.respond_with(t0, tx, 200, false, &mut out).err(),
            Some(EndpointError::RowsReleased)
        );
        assert!(matches!(
            l.respond_with(t0, tx, 486, false, &mut out),
            Err(EndpointError::Transaction(
                TransactionError::AfterFinal { .. }
            ))
        ));
        assert_eq!(
            l.respond_with(t0, tx, 99, false, &mut out).err(),
            Some(EndpointError::Transaction(TransactionError::InvalidStatus(
                99
            )))
        );
        assert_eq!(l.response(tx, 200).err(), Some(EndpointError::RowsReleased));
        assert_eq!(out.len(), 1, "nothing more was sent");
        assert_eq!(l.server_method(tx), Some("INVITE"));
        assert_eq!(l.server_info(tx).map(|i| i.local), Some(addr(LOCAL)));
    }

    /// Timers L and J (RFC 6026 §8.7, RFC 3261 §17.2.2) fire at their exact instant for
    /// parked transactions, which end with `ServerEnded` under the ids the TU holds; then
    /// the ids find nothing, and a late retransmission is a new request.
    #[test]
    fn timers_l_and_j_end_parked_transactions_on_time_and_stale_ids_find_nothing() {
        let (mut l, t0) = (layer(), t0());
        let t1 = t0 + Duration::from_secs(1);
        receive(&mut l, t0, Transport::Udp, invite("i"));
        let inv = new_tx(&mut l);
        answer(&mut l, t0, inv, 200);
        receive(&mut l, t1, Transport::Udp, bye("b"));
        let bye_tx = new_tx(&mut l);
        answer(&mut l, t1, bye_tx, 200);
        assert!(parked(&l, inv) && parked(&l, bye_tx));
        let mut out = Vec::new();
        assert_eq!(l.poll_timeout(), Some(t0 + T64));
        l.handle_timeout(t0 + T64 - Duration::from_nanos(1), &mut out);
        assert!(ups(&mut l).is_empty());
        l.handle_timeout(t0 + T64, &mut out);
        assert!(matches!(ups(&mut l).as_slice(), [Up::ServerEnded { tx }] if *tx == inv));
        assert_eq!((l.lingering(), l.counts()), (1, (0, 1)));
        assert_eq!(l.poll_timeout(), Some(t1 + T64));
        l.handle_timeout(t1 + T64 - Duration::from_nanos(1), &mut out);
        assert!(ups(&mut l).is_empty());
        l.handle_timeout(t1 + T64, &mut out);
        assert!(matches!(ups(&mut l).as_slice(), [Up::ServerEnded { tx }] if *tx == bye_tx));
        assert!(out.is_empty());
        assert_eq!(
            (l.lingering(), l.counts(), l.poll_timeout()),
            (0, (0, 0), None)
        );
        // Stale ids.
        for tx in [inv, bye_tx] {
            assert_eq!(
                l.respond_with(t1 + T64, tx, 200, false, &mut out).err(),
                Some(EndpointError::UnknownTransaction)
            );
            assert_eq!(
                l.response(tx, 200).err(),
                Some(EndpointError::UnknownTransaction)
            );
            assert!(l.server_info(tx).is_none() && l.server_method(tx).is_none());
        }
        // A BYE retransmitted after Timer J is new; the new transaction may take the old
        // one's slot, never its id.
        receive(&mut l, t1 + T64, Transport::Udp, bye("b"));
        let fresh = new_tx(&mut l);
        assert_ne!(fresh, bye_tx);
        assert!(l.server_method(bye_tx).is_none() && l.server_method(fresh).is_some());
    }

    /// Over a connection Timer J is 0 (§17.2.2): an answered BYE ends at once, nothing
    /// lingers. An INVITE in Accepted lingers until Timer L with its 2xx, which §18.2.2's
    /// fallback re-sends to the sent-by port when the connection is lost.
    #[test]
    fn over_tcp_a_non_invite_does_not_linger_and_an_accepted_invite_keeps_its_fallback() {
        let (mut l, t0) = (layer(), t0());
        receive(
            &mut l,
            t0,
            Transport::Tcp,
            request("BYE", "TCP", "b", ";tag=b1"),
        );
        let bye_tx = new_tx(&mut l);
        answer(&mut l, t0, bye_tx, 200);
        assert!(matches!(ups(&mut l).as_slice(), [Up::ServerEnded { tx }] if *tx == bye_tx));
        assert_eq!((l.lingering(), l.counts(), l.parked.len()), (0, (0, 0), 0));

        receive(
            &mut l,
            t0,
            Transport::Tcp,
            request("INVITE", "TCP", "i", ""),
        );
        let inv = new_tx(&mut l);
        let ok = answer(&mut l, t0, inv, 200);
        assert!(parked(&l, inv));
        assert_eq!(ok.destination, addr(PEER));
        let mut out = Vec::new();
        l.transport_error(t0, Transport::Tcp, addr(PEER), &mut out);
        let fallback = addr("192.0.2.1:5070");
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].destination, &out[0].bytes), (fallback, &ok.bytes));
        assert!(ups(&mut l).is_empty());
        // The fallback connection fails too: the transaction ends, and says why.
        out.clear();
        l.transport_error(t0, Transport::Tcp, fallback, &mut out);
        assert!(out.is_empty());
        assert!(matches!(
            ups(&mut l).as_slice(),
            [Up::ServerFailed { tx, failure: Failure::TransportError }, Up::ServerEnded { tx: e }]
                if *tx == inv && *e == inv
        ));
        assert_eq!((l.lingering(), l.counts()), (0, (0, 0)));
    }

    /// A CANCEL for an INVITE already answered gets its 200 with the INVITE's To tag from
    /// the parked transaction (§9.2), and no 487; the CANCEL's own transaction is parked in
    /// turn and answers its retransmission.
    #[test]
    fn a_cancel_after_the_2xx_finds_the_parked_invite() {
        let (mut l, t0) = (layer(), t0());
        receive(&mut l, t0, Transport::Udp, invite("i"));
        let inv = new_tx(&mut l);
        let ok = answer(&mut l, t0, inv, 200);
        let cancel = request("CANCEL", "UDP", "i", "");
        let cancel = Bytes::from(
            String::from_utf8(cancel.to_vec())
                .unwrap()
                .replace("CSeq: 2", "CSeq: 1"),
        );
        let sent = receive(&mut l, t0, Transport::Udp, cancel.clone());
        assert_eq!(sent.len(), 1);
        let tag = |b: &Bytes| match parse(b.clone(), &ParseOptions::default()) {
            Ok(SipMessage::Response(r)) => {
                (r.status(), r.to().and_then(|t| t.tag()).map(str::to_owned))
            }
            _ => panic!("a response"),
        };
        assert_eq!(tag(&sent[0].bytes), (200, tag(&ok.bytes).1));
        assert!(
            ups(&mut l).is_empty(),
            "no Cancelled: the INVITE was answered"
        );
        assert_eq!((l.parked.len(), l.lingering()), (2, 2));
        assert_eq!(receive(&mut l, t0, Transport::Udp, cancel), sent);
    }

    /// Transactions parked in a row with the same route share it; one from another peer
    /// has its own, and its responses go there.
    #[test]
    fn parked_transactions_from_one_peer_share_their_route() {
        let (mut l, t0) = (layer(), t0());
        let park = |l: &mut TransactionLayer, branch: &str, from: &str| {
            let mut out = Vec::new();
            l.receive(
                t0,
                Transport::Udp,
                addr(from),
                addr(LOCAL),
                bye(branch),
                &mut out,
            );
            let tx = new_tx(l);
            answer(l, t0, tx, 200);
            tx
        };
        let (a, b) = (park(&mut l, "a", PEER), park(&mut l, "b", PEER));
        let other = park(&mut l, "c", "192.0.2.9:5060");
        let route =
            |l: &TransactionLayer, tx: ServerTxId| Arc::clone(&l.parked.get(tx.0).unwrap().route);
        assert!(Arc::ptr_eq(&route(&l, a), &route(&l, b)));
        assert!(!Arc::ptr_eq(&route(&l, a), &route(&l, other)));
        // (No rport: the responses go to the source address at the Via's port, §18.2.2.)
        assert_eq!(route(&l, other).target.address(), addr("192.0.2.9:5070"));
        assert_eq!(route(&l, a).target.address(), addr("192.0.2.1:5070"));
    }

    /// The store gives its memory back after a peak, as the other tables do.
    #[test]
    fn the_store_shrinks_after_a_peak() {
        let (mut l, t0) = (layer(), t0());
        for i in 0..2_000 {
            receive(&mut l, t0, Transport::Udp, bye(&i.to_string()));
            let tx = new_tx(&mut l);
            answer(&mut l, t0, tx, 200);
        }
        assert_eq!(
            (l.parked.len(), l.lingering(), l.counts()),
            (2_000, 2_000, (0, 2_000))
        );
        assert!(l.parked.capacity() >= 2_000);
        let mut out = Vec::new();
        l.handle_timeout(t0 + T64, &mut out);
        assert_eq!(ups(&mut l).len(), 2_000);
        assert_eq!((l.parked.len(), l.lingering()), (0, 0));
        // (A hash table's capacity is 7/8 of its power-of-two bucket count.)
        assert!(
            l.parked.capacity() <= 2 * crate::capacity::MIN,
            "{}",
            l.parked.capacity()
        );
    }
}
