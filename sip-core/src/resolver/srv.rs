//! The order SRV targets are tried in (RFC 2782, "Usage rules"): lowest priority first;
//! within a priority, a weighted random draw — each remaining record is picked with a
//! chance proportional to its weight, zero-weight records standing a small chance — until
//! none is left. The draws come from the endpoint's seeded generator, so the same seed
//! gives the same order.

use crate::rng::IdGenerator;

/// One SRV record's data (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative share among records of the same priority.
    pub weight: u16,
    /// The port the service listens on.
    pub port: u16,
    /// The host offering it; `.` means the service is decidedly not available there.
    pub target: Box<str>,
}

impl Srv {
    /// Whether the record says "no service here" (RFC 2782: a target of ".").
    pub fn is_refusal(&self) -> bool {
        matches!(&*self.target, "" | ".")
    }
}

/// `records` in the order RFC 2782 says to try them, drawing with `rng`. Records whose
/// target is `.` are dropped.
pub fn order(mut records: Vec<Srv>, rng: &mut IdGenerator) -> Vec<Srv> {
    records.retain(|r| !r.is_refusal());
    // Stable: records of equal priority keep the answer's order before the draws.
    records.sort_by_key(|r| r.priority);
    let mut ordered = Vec::with_capacity(records.len());
    let mut rest = records.as_mut_slice();
    while !rest.is_empty() {
        let p = rest[0].priority;
        let n = rest.iter().take_while(|r| r.priority == p).count();
        let (group, tail) = rest.split_at_mut(n);
        weighted_shuffle(group, rng);
        ordered.extend(group.iter().cloned());
        rest = tail;
    }
    ordered
}

/// Orders one priority group in place by RFC 2782's draw: zero-weight records first (so
/// they stand a small chance), a running sum of weights, a uniform number in `[0, sum]`,
/// the first record whose running sum reaches it; repeated on what is left.
fn weighted_shuffle(group: &mut [Srv], rng: &mut IdGenerator) {
    group.sort_by_key(|r| r.weight != 0);
    for start in 0..group.len() {
        let rest = &group[start..];
        let sum: u64 = rest.iter().map(|r| u64::from(r.weight)).sum();
        let draw = rng.millis_between(0, sum);
        let mut running = 0u64;
        let mut pick = rest.len() - 1;
        for (i, r) in rest.iter().enumerate() {
            running += u64::from(r.weight);
            if running >= draw {
                pick = i;
                break;
            }
        }
        group[start..].swap(0, pick);
        // Keep the zero-weight-first arrangement of what is left.
        group[start + 1..].sort_by_key(|r| r.weight != 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port: 5060,
            target: target.into(),
        }
    }

    fn targets(v: &[Srv]) -> Vec<&str> {
        v.iter().map(|r| &*r.target).collect()
    }

    /// RFC 2782: lower priorities first, whatever the weights; "." dropped.
    #[test]
    fn priorities_order_groups() {
        let mut rng = IdGenerator::new(1);
        let got = order(
            vec![
                srv(20, 100, "c"),
                srv(10, 0, "a"),
                srv(10, 0, "."),
                srv(30, 1, "d"),
                srv(10, 0, "b"),
            ],
            &mut rng,
        );
        let t = targets(&got);
        assert_eq!(t.len(), 4);
        assert_eq!(&t[2..], ["c", "d"]);
        assert!(t[..2].contains(&"a") && t[..2].contains(&"b"));
    }

    /// RFC 2782: within a priority, a record comes first with a chance proportional to its
    /// weight (90/10 here, measured over 2000 seeded draws), and a zero-weight record
    /// still comes first sometimes (it is placed first and wins a draw of 0).
    #[test]
    fn weights_share_the_first_place() {
        let mut rng = IdGenerator::new(7);
        let mut heavy_first = 0;
        for _ in 0..2000 {
            let got = order(vec![srv(1, 10, "light"), srv(1, 90, "heavy")], &mut rng);
            assert_eq!(got.len(), 2);
            if &*got[0].target == "heavy" {
                heavy_first += 1;
            }
        }
        assert!((1700..1900).contains(&heavy_first), "{heavy_first}");
        let mut firsts = std::collections::HashSet::new();
        for _ in 0..200 {
            let got = order(vec![srv(1, 1, "y"), srv(1, 0, "x")], &mut rng);
            firsts.insert(got[0].target.clone());
        }
        assert_eq!(firsts.len(), 2);
    }

    /// The same seed gives the same order.
    #[test]
    fn the_seed_fixes_the_order() {
        let recs: Vec<Srv> = (0..6).map(|i| srv(1, 10, &format!("h{i}"))).collect();
        let a = order(recs.clone(), &mut IdGenerator::new(3));
        let b = order(recs, &mut IdGenerator::new(3));
        assert_eq!(a, b);
    }
}

/// The SRV owner name for SIP over `transport` at `domain` (RFC 3263 §4.1): `_sips._tcp`
/// for TLS, `_sip._tcp`, `_sip._udp`; `None` for transports without an SRV convention here.
pub fn service_name(transport: crate::transport::Transport, domain: &str) -> Option<Box<str>> {
    use crate::transport::Transport;
    let prefix = match transport {
        Transport::Tls => "_sips._tcp.",
        Transport::Tcp => "_sip._tcp.",
        Transport::Udp => "_sip._udp.",
        _ => return None,
    };
    let mut s = String::with_capacity(prefix.len() + domain.len());
    s.push_str(prefix);
    s.push_str(domain);
    Some(s.into())
}

#[cfg(test)]
mod name_tests {
    use super::*;
    use crate::transport::Transport;

    #[test]
    fn service_names() {
        assert_eq!(
            service_name(Transport::Tls, "example.test").as_deref(),
            Some("_sips._tcp.example.test")
        );
        assert_eq!(
            service_name(Transport::Udp, "a.b").as_deref(),
            Some("_sip._udp.a.b")
        );
        assert_eq!(service_name(Transport::Ws, "a.b"), None);
    }
}
