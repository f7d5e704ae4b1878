//! The pieces of option parsing every command shares: `--flag value` or
//! `--flag=value`, and the values more than one command takes.

use std::net::{IpAddr, Ipv4Addr};

/// `arg` as a flag and the value written after its `=`, if any.
pub(crate) fn split(arg: &str) -> (&str, Option<String>) {
    match arg.split_once('=') {
        Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
        _ => (arg, None),
    }
}

/// The flag's value: the one after its `=`, else the next argument.
pub(crate) fn value<'a>(
    flag: &str,
    inline: Option<String>,
    args: &mut impl Iterator<Item = &'a String>,
) -> Result<String, String> {
    match inline {
        Some(value) => Ok(value),
        None => args
            .next()
            .cloned()
            .ok_or_else(|| format!("`{flag}` needs a value")),
    }
}

/// `--port N`.
pub(crate) fn port(value: &str) -> Result<u16, String> {
    value
        .parse()
        .map_err(|_| format!("--port: `{value}` is not a port (0 to 65535)"))
}

/// `--host ADDR` (`localhost` too).
pub(crate) fn host(value: &str) -> Result<IpAddr, String> {
    match value {
        "localhost" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        _ => value
            .parse()
            .map_err(|_| format!("--host: `{value}` is not an IP address (e.g. 127.0.0.1)")),
    }
}
