//! What a transaction machine asks its owner (the endpoint) to do after one input.
//!
//! The machines never see message bytes (RFC 3261 §17 leaves message handling to the transport
//! and the TU). Every input returns an [`Actions`] value: a small `Copy` set of flags that the
//! endpoint turns into transmissions and TU events, using the messages it keeps for the
//! transaction. After every call the endpoint should re-read `poll_timeout()`, since any input
//! may arm or cancel timers.

use std::fmt;

use super::timers::TimerName;

const TRANSMIT: u8 = 1 << 0;
const SEND_ACK: u8 = 1 << 1;
const PASS_TO_TU: u8 = 1 << 2;
const SEND_TRYING: u8 = 1 << 3;
const TRANSPORT_FAILED: u8 = 1 << 4;
const TERMINATED: u8 = 1 << 5;

/// The effects of one input on a transaction (RFC 3261 §17): a set of flags plus the timer that
/// timed the transaction out, if any. Several flags can be set at once, and the endpoint should
/// carry them out in the order of the accessors below: transmit / send the ACK or the `100`
/// first, then inform the TU, then drop the transaction if [`Actions::terminated`] is set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Actions {
    flags: u8,
    timed_out: Option<TimerName>,
}

impl Actions {
    /// No effect at all (the input was absorbed).
    pub const fn none() -> Self {
        Self {
            flags: 0,
            timed_out: None,
        }
    }

    /// The same actions without [`Actions::pass_to_tu`], for an owner that has already
    /// handed the message to the TU itself.
    pub const fn without_pass_to_tu(self) -> Self {
        Self {
            flags: self.flags & !PASS_TO_TU,
            timed_out: self.timed_out,
        }
    }

    /// The same actions without [`Actions::transmit`], for an owner that has sent the
    /// message itself.
    pub const fn without_transmit(self) -> Self {
        Self {
            flags: self.flags & !TRANSMIT,
            timed_out: self.timed_out,
        }
    }

    /// Whether nothing needs doing.
    pub const fn is_empty(&self) -> bool {
        self.flags == 0 && self.timed_out.is_none()
    }

    /// Send a message through the transport (RFC 3261 §17.1.1.2, §17.2.1): on a client
    /// transaction, send the request (initial send) or re-send it (Timer A / E); on a server
    /// transaction, send the response the TU just passed down (`on_tu_response`) or re-send the
    /// most recent response sent (request retransmission, Timer G). A `100 Trying` that the
    /// transaction generated itself ([`Actions::send_trying`]) counts as the most recent response.
    pub const fn transmit(&self) -> bool {
        self.flags & TRANSMIT != 0
    }

    /// INVITE client only: build (or re-use) and send the ACK for the 300–699 final response
    /// just received, on the INVITE's branch (RFC 3261 §17.1.1.3). Set on the first final and
    /// again on each retransmission of it while in Completed.
    pub const fn send_ack(&self) -> bool {
        self.flags & SEND_ACK != 0
    }

    /// Pass the message just received up to the TU: the request on a new server transaction,
    /// a response on a client transaction, an ACK for a 2xx on an INVITE server transaction in
    /// Accepted (RFC 6026 §7.1), a 2xx retransmission on an INVITE client in Accepted
    /// (RFC 6026 §7.2).
    pub const fn pass_to_tu(&self) -> bool {
        self.flags & PASS_TO_TU != 0
    }

    /// INVITE server only: generate and send a `100 Trying` for the INVITE, because the TU has
    /// not answered within the Trying delay (RFC 3261 §17.2.1). The endpoint should keep it as
    /// the transaction's most recent response, so INVITE retransmissions re-send it.
    pub const fn send_trying(&self) -> bool {
        self.flags & SEND_TRYING != 0
    }

    /// The transaction timed out and the TU must be told (RFC 3261 §17.1.1.2 Timer B,
    /// §17.1.2.2 Timer F, §17.2.1 Timer H). Other timers terminate silently and leave this
    /// `None`; see [`Actions::terminated`].
    pub const fn timed_out(&self) -> Option<TimerName> {
        self.timed_out
    }

    /// The transport reported an error and the TU must be told (RFC 3261 §17.1.4, §17.2.4).
    pub const fn transport_failed(&self) -> bool {
        self.flags & TRANSPORT_FAILED != 0
    }

    /// The transaction entered Terminated during this call and must be destroyed (RFC 3261
    /// §17.1.1.2: "MUST be destroyed the instant it enters the Terminated state").
    ///
    /// Zero-duration timers (D, I, J, K on reliable transports) are not armed: the machine
    /// passes through the waiting state and terminates inside the same call, so this flag comes
    /// together with the actions of that input (e.g. `send_ack` + `pass_to_tu` + `terminated`).
    pub const fn terminated(&self) -> bool {
        self.flags & TERMINATED != 0
    }

    const fn with(self, flag: u8) -> Self {
        Self {
            flags: self.flags | flag,
            timed_out: self.timed_out,
        }
    }

    /// Adds [`Actions::transmit`].
    pub(crate) const fn with_transmit(self) -> Self {
        self.with(TRANSMIT)
    }

    /// Adds [`Actions::send_ack`].
    pub(crate) const fn with_send_ack(self) -> Self {
        self.with(SEND_ACK)
    }

    /// Adds [`Actions::pass_to_tu`].
    pub(crate) const fn with_pass_to_tu(self) -> Self {
        self.with(PASS_TO_TU)
    }

    /// Adds [`Actions::send_trying`].
    pub(crate) const fn with_send_trying(self) -> Self {
        self.with(SEND_TRYING)
    }

    /// Adds [`Actions::transport_failed`].
    pub(crate) const fn with_transport_failed(self) -> Self {
        self.with(TRANSPORT_FAILED)
    }

    /// Adds [`Actions::terminated`].
    pub(crate) const fn with_terminated(self) -> Self {
        self.with(TERMINATED)
    }

    /// Sets [`Actions::timed_out`] (and [`Actions::terminated`]: a timeout always ends the
    /// transaction).
    pub(crate) const fn with_timed_out(self, timer: TimerName) -> Self {
        Self {
            flags: self.flags | TERMINATED,
            timed_out: Some(timer),
        }
    }
}

impl fmt::Debug for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (TRANSMIT, "transmit"),
            (SEND_ACK, "send_ack"),
            (PASS_TO_TU, "pass_to_tu"),
            (SEND_TRYING, "send_trying"),
            (TRANSPORT_FAILED, "transport_failed"),
            (TERMINATED, "terminated"),
        ];
        f.write_str("Actions{")?;
        let mut first = true;
        for (flag, name) in names {
            if self.flags & flag != 0 {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if let Some(timer) = self.timed_out {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "timed_out({timer})")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_empty() {
        let a = Actions::none();
        assert!(a.is_empty());
        assert!(!a.transmit());
        assert!(!a.send_ack());
        assert!(!a.pass_to_tu());
        assert!(!a.send_trying());
        assert!(!a.transport_failed());
        assert!(!a.terminated());
        assert_eq!(a.timed_out(), None);
        assert_eq!(a, Actions::default());
    }

    #[test]
    fn each_flag_is_independent() {
        let a = Actions::none().with_transmit();
        assert!(a.transmit() && !a.send_ack() && !a.pass_to_tu() && !a.is_empty());
        let a = Actions::none().with_send_ack().with_pass_to_tu();
        assert!(!a.transmit() && a.send_ack() && a.pass_to_tu() && !a.terminated());
        let a = Actions::none().with_send_trying();
        assert!(a.send_trying() && !a.transmit());
        let a = Actions::none().with_transport_failed().with_terminated();
        assert!(a.transport_failed() && a.terminated() && a.timed_out().is_none());
    }

    #[test]
    fn timeout_implies_terminated() {
        let a = Actions::none().with_timed_out(TimerName::B);
        assert_eq!(a.timed_out(), Some(TimerName::B));
        assert!(a.terminated());
        assert!(!a.transport_failed());
    }

    #[test]
    fn debug_lists_flags() {
        assert_eq!(format!("{:?}", Actions::none()), "Actions{}");
        let a = Actions::none()
            .with_send_ack()
            .with_pass_to_tu()
            .with_terminated();
        assert_eq!(format!("{a:?}"), "Actions{send_ack pass_to_tu terminated}");
        let a = Actions::none().with_timed_out(TimerName::H);
        assert_eq!(format!("{a:?}"), "Actions{terminated timed_out(Timer H)}");
    }

    #[test]
    fn is_small_and_copy() {
        assert!(std::mem::size_of::<Actions>() <= 4);
    }
}
