//! Who is calling, for the sign-in limits: the peer's address, or behind proxies the operator
//! trusts (`--trusted-proxy`), the address they forwarded (`X-Forwarded-For`). IPv6 addresses
//! count by their /64 network, the block one subscriber usually holds.

use std::net::IpAddr;

/// The client's address: the peer, unless it is a trusted proxy; then the right-most address of
/// `X-Forwarded-For` that is not a trusted proxy (the left part of that header is whatever the
/// client claimed, so it is never believed).
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    let mut address = peer;
    if !trusted.contains(&address) {
        return address;
    }
    for hop in forwarded_for.unwrap_or_default().rsplit(',') {
        let Ok(hop) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        address = hop;
        if !trusted.contains(&hop) {
            break;
        }
    }
    address
}

/// The limiter's key for an address.
pub fn limit_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_are_looked_through() {
        let proxy = ip("10.0.0.1");
        let trusted = [proxy, ip("10.0.0.2")];
        // A direct client is itself, whatever it claims.
        assert_eq!(
            client_address(ip("203.0.113.9"), Some("198.51.100.1"), &trusted),
            ip("203.0.113.9")
        );
        // Through the proxy: the address the proxy saw, not what the client put first.
        assert_eq!(
            client_address(proxy, Some("6.6.6.6, 203.0.113.9"), &trusted),
            ip("203.0.113.9")
        );
        // Through two trusted proxies.
        assert_eq!(
            client_address(proxy, Some("203.0.113.9, 10.0.0.2"), &trusted),
            ip("203.0.113.9")
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(client_address(proxy, None, &trusted), proxy);
        assert_eq!(
            client_address(proxy, Some("not an address"), &trusted),
            proxy
        );
    }

    #[test]
    fn ipv6_counts_by_network() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(limit_key(ip("192.0.2.1")), "ip:192.0.2.1");
    }
}
