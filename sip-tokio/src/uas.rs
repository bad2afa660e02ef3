//! A ready-made answering user agent (placeholder until the uas example lands).
