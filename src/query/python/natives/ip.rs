//! `ipaddress`: addresses and networks as CIDR tests with Python's private ranges.

use super::*;

/// Python's private networks (`ipaddress`, 3.11): `is_private`; `is_global` is "not
/// private" (and, for IPv4, not in 100.64.0.0/10).
pub const PY_PRIVATE_NETS: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.0.170/31",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::1/128",
    "::/128",
    "::ffff:0:0/96",
    "100::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:db8::/32",
    "2001:10::/28",
    "fc00::/7",
    "fe80::/10",
];

pub(super) fn cidr(f: &Field, nets: &[&str]) -> Expr {
    Expr::Pred(
        Predicate::field(
            f.name(),
            Op::Cidr,
            nets.iter().map(|n| Value::str(*n)).collect(),
        )
        .cased(true),
    )
}

/// `ip_address(x)`: raises (ValueError) unless `x` is an IP address.
pub(super) fn ip_address(ip: &Interp, name: &str, args: &[Sym], text: &str) -> Sym {
    let any: &[&str] = match name {
        "ipaddress.IPv4Address" => &["0.0.0.0/0"],
        "ipaddress.IPv6Address" => &["::/0"],
        _ => &["0.0.0.0/0", "::/0"],
    };
    match args {
        [Sym::Field(f)] if f.is_plain() => {
            let valid = |d: &Py| {
                Some(
                    d.as_str()
                        .and_then(|s| s.parse::<std::net::IpAddr>().ok())
                        .is_some_and(|a| {
                            any.iter()
                                .any(|n| n.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&a)))
                        }),
                )
            };
            ip.may_raise(sym::not(sym::with_fallbacks(f, cidr(f, any), &valid)));
            Sym::Ip(f.clone())
        }
        [Sym::Const(Py::Str(s))] => match s.parse::<std::net::IpAddr>() {
            Ok(_) => opaque(text, "an IP address constant"),
            Err(_) => raises(text),
        },
        // ip_address(None) raises ValueError (an integer would be an address).
        [Sym::Const(Py::None | Py::Bool(_) | Py::List(_) | Py::Dict(_))] => raises(text),
        [Sym::Cond(c, a, b)] => {
            let l = ip.under((**c).clone(), || {
                ip_address(ip, name, std::slice::from_ref(a), text)
            });
            let r = ip.under(sym::not((**c).clone()), || {
                ip_address(ip, name, std::slice::from_ref(b), text)
            });
            cond((**c).clone(), l, r)
        }
        _ => propagate(text, args)
            .unwrap_or_else(|| opaque(text, "an IP address of a value the reader does not model")),
    }
}

/// `ip_network(x)`: a known network, or a single address of the event.
pub(super) fn ip_network(ip: &Interp, args: &[Sym], text: &str) -> Sym {
    match args.first() {
        Some(Sym::Const(Py::Str(n))) => match n.trim().parse::<ipnet::IpNet>() {
            Ok(_) => Sym::Net(vec![n.trim().to_string()]),
            Err(_) => match n.trim().parse::<std::net::IpAddr>() {
                Ok(a) => Sym::Net(vec![ipnet::IpNet::from(a).to_string()]),
                Err(_) => raises(text),
            },
        },
        Some(Sym::Opaque { reason, .. }) => opaque(text, reason.clone()),
        Some(Sym::Field(f)) if f.is_plain() => {
            // A single address is a network of one; a CIDR in the event is not modelled.
            let single = cidr(f, &["0.0.0.0/0", "::/0"]);
            ip.may_raise(sym::and(vec![
                sym::not(single.clone()),
                Expr::opaque(text, "whether the event's value is a valid network"),
            ]));
            cond(
                single,
                Sym::Ip(f.clone()),
                opaque(text, "a network read from the event's data"),
            )
        }
        Some(Sym::Cond(c, a, b)) => {
            let l = ip.under((**c).clone(), || {
                ip_network(ip, std::slice::from_ref(a), text)
            });
            let r = ip.under(sym::not((**c).clone()), || {
                ip_network(ip, std::slice::from_ref(b), text)
            });
            cond((**c).clone(), l, r)
        }
        _ => opaque(text, "a network read from the event's data"),
    }
}

/// A property of a known network, as Python's `ipaddress` computes it (both ends of the
/// network must be in one of the listed networks).
pub(super) fn net_property(net: &str, attr: &str) -> Option<bool> {
    let n: ipnet::IpNet = net.parse().ok()?;
    let within = |list: &[&str]| {
        list.iter().any(|l| {
            l.parse::<ipnet::IpNet>()
                .is_ok_and(|p| p.contains(&n.network()) && p.contains(&n.broadcast()))
        })
    };
    Some(match attr {
        "is_private" => within(PY_PRIVATE_NETS),
        "is_global" => !within(PY_PRIVATE_NETS) && !within(&["100.64.0.0/10"]),
        "is_loopback" => within(&["127.0.0.0/8", "::1/128"]),
        "is_link_local" => within(&["169.254.0.0/16", "fe80::/10"]),
        "is_multicast" => within(&["224.0.0.0/4", "ff00::/8"]),
        _ => return None,
    })
}

/// Properties of `ip_address(field)`.
pub(super) fn ip_property(f: &Field, attr: &str, text: &str) -> Sym {
    let v4 = cidr(f, &["0.0.0.0/0"]);
    let e = match attr {
        "is_private" => cidr(f, PY_PRIVATE_NETS),
        "is_global" => sym::and(vec![
            sym::not(cidr(f, PY_PRIVATE_NETS)),
            sym::not(cidr(f, &["100.64.0.0/10"])),
        ]),
        "is_loopback" => cidr(f, &["127.0.0.0/8", "::1/128"]),
        "is_link_local" => cidr(f, &["169.254.0.0/16", "fe80::/10"]),
        "is_multicast" => cidr(f, &["224.0.0.0/4", "ff00::/8"]),
        "is_unspecified" => cidr(f, &["0.0.0.0/32", "::/128"]),
        "is_reserved" => cidr(f, &["240.0.0.0/4"]),
        "version" => {
            return cond(v4, Sym::Const(Py::Int(4)), Sym::Const(Py::Int(6)));
        }
        _ => return opaque(text, format!("IP address attribute `{attr}`")),
    };
    bool_sym(e)
}
