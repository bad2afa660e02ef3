//! The system's resolver, from `/etc/resolv.conf` (resolv.conf(5)).

use std::net::{IpAddr, SocketAddr};

/// The first `nameserver` of `/etc/resolv.conf`, port 53: the system's resolver. `None`
/// when the file is missing or names none.
pub fn system_server() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    first_nameserver(&text)
}

/// The first `nameserver` line of a resolv.conf text, port 53.
pub fn first_nameserver(text: &str) -> Option<SocketAddr> {
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next()? == "nameserver")
            .then(|| words.next()?.parse::<IpAddr>().ok())
            .flatten()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameserver() {
        let text = "# comment\nsearch example.test\nnameserver 192.0.2.53\nnameserver ::1\n";
        assert_eq!(
            first_nameserver(text),
            Some("192.0.2.53:53".parse().unwrap())
        );
        assert_eq!(first_nameserver("options ndots:1\n"), None);
        assert_eq!(first_nameserver("nameserver not-an-ip\n"), None);
    }
}
