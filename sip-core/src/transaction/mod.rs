//! The four transaction state machines of RFC 3261 §17 (with RFC 6026).
