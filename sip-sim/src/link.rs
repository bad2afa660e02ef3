//! The behaviour of a network path between two addresses.

use std::time::Duration;

/// How a path between two addresses behaves. Set per pair with [`Sim::set_link`] (both
/// directions) or [`Sim::set_link_directed`], and for every other pair with
/// [`Sim::set_default_link`].
///
/// Probabilities are clamped to `0.0..=1.0` when used (NaN counts as 0). Loss, duplication
/// and reordering apply to datagram transports only (UDP); reliable transports get latency
/// and jitter but stay lossless and in order.
///
/// [`Sim::set_link`]: crate::Sim::set_link
/// [`Sim::set_link_directed`]: crate::Sim::set_link_directed
/// [`Sim::set_default_link`]: crate::Sim::set_default_link
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// One-way delay of every message.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` for each message. On a datagram
    /// transport it can reorder messages sent close together; on a connection the delivery
    /// order is kept regardless.
    pub jitter: Duration,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice (the copy gets its own delay and its
    /// own chance of loss).
    pub duplicate: f64,
    /// Probability that a datagram is held back by [`LinkConfig::reorder_delay`] on top of
    /// its latency, so that datagrams sent after it overtake it.
    pub reorder: f64,
    /// The extra delay of a reordered datagram.
    pub reorder_delay: Duration,
    /// Cut byte-stream messages (TCP, TLS) into random chunks, each delivered by its own
    /// [`Node::handle_receive`](crate::Node::handle_receive) call, in order and at the same
    /// instant, to exercise the receiver's stream framing. Off by default.
    pub chunking: bool,
}

impl LinkConfig {
    /// A perfect link with the given one-way latency: no jitter, loss, duplication,
    /// reordering or chunking. `reorder_delay` is 20 ms, used only if `reorder` is raised.
    pub const fn ideal(latency: Duration) -> Self {
        LinkConfig {
            latency,
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(20),
            chunking: false,
        }
    }

    /// Sets [`LinkConfig::jitter`].
    pub const fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets [`LinkConfig::loss`].
    pub const fn with_loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }

    /// Sets [`LinkConfig::duplicate`].
    pub const fn with_duplicate(mut self, duplicate: f64) -> Self {
        self.duplicate = duplicate;
        self
    }

    /// Sets [`LinkConfig::reorder`] and [`LinkConfig::reorder_delay`].
    pub const fn with_reorder(mut self, reorder: f64, delay: Duration) -> Self {
        self.reorder = reorder;
        self.reorder_delay = delay;
        self
    }

    /// Sets [`LinkConfig::chunking`].
    pub const fn with_chunking(mut self, chunking: bool) -> Self {
        self.chunking = chunking;
        self
    }
}

impl Default for LinkConfig {
    /// [`LinkConfig::ideal`] with a 10 ms latency.
    fn default() -> Self {
        LinkConfig::ideal(Duration::from_millis(10))
    }
}

/// Clamps a probability to `0.0..=1.0`; NaN becomes 0.
pub(crate) fn probability(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_fields() {
        let l = LinkConfig::ideal(Duration::from_millis(5))
            .with_jitter(Duration::from_millis(2))
            .with_loss(0.1)
            .with_duplicate(0.2)
            .with_reorder(0.3, Duration::from_millis(7))
            .with_chunking(true);
        assert_eq!(
            l,
            LinkConfig {
                latency: Duration::from_millis(5),
                jitter: Duration::from_millis(2),
                loss: 0.1,
                duplicate: 0.2,
                reorder: 0.3,
                reorder_delay: Duration::from_millis(7),
                chunking: true,
            }
        );
        assert_eq!(LinkConfig::default().latency, Duration::from_millis(10));
        assert_eq!(LinkConfig::default().loss, 0.0);
    }

    #[test]
    fn probabilities_are_clamped() {
        assert_eq!(probability(f64::NAN), 0.0);
        assert_eq!(probability(-1.0), 0.0);
        assert_eq!(probability(2.0), 1.0);
        assert_eq!(probability(0.25), 0.25);
    }
}
