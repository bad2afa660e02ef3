//! Byte-level damage: bit flips, overwritten bytes, inserted SIP delimiters, deletions,
//! duplications and truncations, the kinds of fault RFC 4475 §3.1.2 and §3.3 collect, made
//! at random places.

use proptest::sample::Index;

/// Byte strings that matter to a SIP parser: line ends and folds (RFC 3261 §7.3.1), the
/// delimiters of the header grammars (§25.1), escapes, invalid UTF-8, and numbers that do
/// not fit (Content-Length, CSeq).
pub const INTERESTING: &[&[u8]] = &[
    b"\r\n",
    b"\r\n ",
    b"\n",
    b"\r",
    b"\0",
    b";",
    b",",
    b"<",
    b">",
    b"\"",
    b"\\",
    b":",
    b" ",
    b"\t",
    b"%",
    b"%0",
    b"=",
    b"@",
    b"[",
    b"]",
    b"\xff",
    b"\xc3",
    b"9999999999",
    b"4294967296",
    b"l: 9\r\n",
];

/// One edit of a byte string; positions are [`Index`]es, so the same edit applies to any
/// length.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flips bit `n % 8` of one byte.
    Flip(Index, u8),
    /// Overwrites one byte.
    Set(Index, u8),
    /// Inserts bytes (at any position, the end included).
    Insert(Index, Vec<u8>),
    /// Deletes up to `n` bytes.
    Delete(Index, usize),
    /// Copies up to `n` bytes in front of themselves.
    Duplicate(Index, usize),
    /// Cuts the input at a position.
    Truncate(Index),
}

/// Applies `ms` to `b` in order. Edits that need a byte do nothing to an empty input.
pub fn mutate(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let len = b.len();
        let at = |i: &Index| if len == 0 { 0 } else { i.index(len) };
        match m {
            Mutation::Flip(i, bit) if len > 0 => {
                let p = at(i);
                b[p] ^= 1 << (bit % 8);
            }
            Mutation::Set(i, v) if len > 0 => {
                let p = at(i);
                b[p] = *v;
            }
            Mutation::Insert(i, v) => {
                let p = if len == 0 { 0 } else { i.index(len + 1) };
                b.splice(p..p, v.iter().copied());
            }
            Mutation::Delete(i, n) if len > 0 => {
                let p = at(i);
                b.drain(p..p.saturating_add(*n).min(len));
            }
            Mutation::Duplicate(i, n) if len > 0 => {
                let p = at(i);
                let piece = b[p..p.saturating_add(*n).min(len)].to_vec();
                b.splice(p..p, piece);
            }
            Mutation::Truncate(i) => {
                let p = at(i);
                b.truncate(p);
            }
            _ => {}
        }
    }
    b
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::any;
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    /// The `Index` whose raw value is eight `b` bytes.
    pub(crate) fn index(b: u8) -> Index {
        let rng = TestRng::from_seed(RngAlgorithm::PassThrough, &[b; 8]);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        any::<Index>().new_tree(&mut runner).unwrap().current()
    }

    /// The first position and the last one.
    fn ends() -> (Index, Index) {
        (index(0), index(0xff))
    }

    #[test]
    fn each_mutation_edits_where_it_says() {
        let (first, last) = ends();
        let m = |ms: &[Mutation]| mutate(b"abc".to_vec(), ms);
        assert_eq!(m(&[Mutation::Flip(first, 9)]), b"cbc");
        assert_eq!(m(&[Mutation::Set(last, b'!')]), b"ab!");
        assert_eq!(m(&[Mutation::Insert(last, b"\r\n".to_vec())]), b"abc\r\n");
        assert_eq!(m(&[Mutation::Delete(first, usize::MAX)]), b"");
        assert_eq!(m(&[Mutation::Duplicate(first, 2)]), b"ababc");
        assert_eq!(m(&[Mutation::Truncate(last)]), b"ab");
        assert_eq!(
            m(&[
                Mutation::Truncate(first),
                Mutation::Insert(first, b"x".to_vec())
            ]),
            b"x"
        );
    }

    #[test]
    fn an_empty_input_takes_every_mutation() {
        let (first, last) = ends();
        for m in [
            Mutation::Flip(first, 1),
            Mutation::Set(last, 0),
            Mutation::Delete(first, 3),
            Mutation::Duplicate(last, 3),
            Mutation::Truncate(last),
        ] {
            assert_eq!(mutate(Vec::new(), &[m]), b"");
        }
        assert_eq!(
            mutate(Vec::new(), &[Mutation::Insert(last, b"%".to_vec())]),
            b"%"
        );
    }
}
