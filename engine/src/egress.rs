//! Where connectors may send requests. A datasource's settings name a server (an `endpoint`),
//! so without a fence any member could make the server fetch its own loopback, the private
//! network or a cloud metadata service, and read the answer back. The fence:
//!
//! - Each connector reaches its service's public API hosts ([`Service`]), and any other
//!   endpoint only when the operator listed it (`TRIBUTARY_CONNECTOR_ENDPOINTS`); a datasource
//!   naming anything else is refused when it is saved, and again when it syncs.
//! - Names are checked after DNS resolution (a hook in the HTTP client): a public host that
//!   resolves to a loopback, private, link-local, unique-local or otherwise non-global address
//!   (classified by the `ip_rfc` crate) is refused, so DNS cannot steer a request inside. An
//!   endpoint the operator listed is trusted with whatever address it has: that is how a MinIO
//!   on the local network, or the test suite's fakes on loopback, are reached.
//! - Redirects are checked at every hop by the same rules, and at most three are followed.
//! - No proxy from the environment: the check must see the address actually connected to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The public API hosts of a service: exact names, or `.suffix` for a whole domain.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    pub hosts: &'static [&'static str],
}

pub const DROPBOX: Service = Service {
    name: "Dropbox",
    hosts: &["api.dropboxapi.com", "content.dropboxapi.com"],
};
pub const SLACK: Service = Service {
    name: "Slack",
    hosts: &["slack.com"],
};
pub const S3: Service = Service {
    name: "Amazon S3",
    hosts: &[".amazonaws.com"],
};

/// One endpoint the operator allows: scheme, host and port (`None`: any port, written `:*`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Allowed {
    fn matches(&self, url: &Url) -> bool {
        url.scheme() == self.scheme
            && url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && self
                .port
                .is_none_or(|p| url.port_or_known_default() == Some(p))
    }
}

impl std::fmt::Display for Allowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}://{}:{p}", self.scheme, self.host),
            None => write!(f, "{}://{}:*", self.scheme, self.host),
        }
    }
}

/// The operator's fence for outbound requests. The default allows each service's public hosts
/// only.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    allowed: Arc<Vec<Allowed>>,
}

/// Whether an address is one connectors may reach without the operator's word: globally
/// routable (IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry).
pub fn is_public(ip: IpAddr) -> bool {
    ip_rfc::global(&ip.to_canonical())
}

impl Egress {
    /// Parses the operator's list: endpoints (`scheme://host[:port]`, `:*` for any port)
    /// separated by commas or white space.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut allowed = Vec::new();
        for item in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            let bad = |why: &str| {
                format!(
                    "TRIBUTARY_CONNECTOR_ENDPOINTS: '{item}' {why} (expected scheme://host[:port], \
                     :* for any port)"
                )
            };
            let (text, any_port) = match item.strip_suffix(":*") {
                Some(t) => (t, true),
                None => (item.trim_end_matches('/'), false),
            };
            let url = Url::parse(text).map_err(|e| bad(&e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(bad("is not http or https"));
            }
            if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
                return Err(bad("has more than a scheme, host and port"));
            }
            let host = url
                .host_str()
                .ok_or_else(|| bad("has no host"))?
                .to_ascii_lowercase();
            allowed.push(Allowed {
                scheme: url.scheme().to_owned(),
                host,
                port: if any_port {
                    None
                } else {
                    url.port_or_known_default()
                },
            });
        }
        Ok(Self {
            allowed: Arc::new(allowed),
        })
    }

    /// The operator's list as it was understood, for messages and logs.
    pub fn describe(&self) -> String {
        if self.allowed.is_empty() {
            "none".into()
        } else {
            let all: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
            all.join(", ")
        }
    }

    fn operator_allows(&self, url: &Url) -> bool {
        self.allowed.iter().any(|a| a.matches(url))
    }

    /// Whether `url` is one of `service`'s public hosts over HTTPS.
    fn public_host(service: Service, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        url.scheme() == "https"
            && host.parse::<IpAddr>().is_err()
            && service.hosts.iter().any(|h| match h.strip_prefix('.') {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => host == *h,
            })
    }

    /// Whether a connector of `service` may send a request to `url` (before DNS: the address
    /// a public name resolves to is checked when connecting).
    pub fn allows(&self, service: Service, url: &Url) -> bool {
        self.operator_allows(url) || Self::public_host(service, url)
    }

    /// Checks an `endpoint` setting: the operator must have listed it. The error is what the
    /// person who typed it reads.
    pub fn check_endpoint(&self, service: Service, endpoint: &str) -> Result<(), String> {
        let url = Url::parse(endpoint).map_err(|_| "must be an http:// or https:// URL")?;
        if self.allows(service, &url) {
            return Ok(());
        }
        Err(if self.allowed.is_empty() {
            format!(
                "is not a server this Tributary may reach: its operator allows no endpoints \
                 besides {}'s own (leave it empty for {})",
                service.name, service.name
            )
        } else {
            format!(
                "is not a server this Tributary may reach: its operator allows {} (and {}'s \
                 own servers)",
                self.describe(),
                service.name
            )
        })
    }

    /// The HTTP client of a `service` connector: requests only to the allowed hosts, names
    /// resolved only to allowed addresses, redirects re-checked at every hop (three at most),
    /// no proxy from the environment; connections give up after 10 s, requests after `timeout`.
    pub fn client(&self, service: Service, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        let fence = self.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > 3 {
                attempt.error("too many redirects")
            } else if fence.allows(service, attempt.url()) {
                attempt.follow()
            } else {
                let host = attempt.url().host_str().unwrap_or("?").to_owned();
                attempt.error(format!(
                    "a redirect to {host}, which connectors may not reach"
                ))
            }
        });
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .no_proxy()
            .redirect(redirects)
            .dns_resolver(Arc::new(Resolver {
                egress: self.clone(),
            }))
            .build()
    }

    /// Checks a request's URL before it is sent: the host must be allowed, and an address
    /// written as such (which no resolver sees) must be listed by the operator.
    pub fn check_url(&self, service: Service, url: &Url) -> Result<(), String> {
        if self.allows(service, url) {
            Ok(())
        } else {
            Err(format!(
                "{} is not a server this Tributary may reach (allowed: {}'s own servers{})",
                url.host_str().unwrap_or("?"),
                service.name,
                if self.allowed.is_empty() {
                    String::new()
                } else {
                    format!(", {}", self.describe())
                }
            ))
        }
    }

    /// Whether the operator listed an endpoint on `host` (then any address of it is allowed).
    fn trusts_host(&self, host: &str) -> bool {
        self.allowed
            .iter()
            .any(|a| a.host.eq_ignore_ascii_case(host))
    }
}

/// The DNS hook: resolves with the system's resolver, then keeps only the addresses the fence
/// allows.
struct Resolver {
    egress: Egress,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let trusted = self.egress.trusts_host(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| trusted || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                let why: Box<dyn std::error::Error + Send + Sync> = if found.is_empty() {
                    format!("{host} has no address").into()
                } else {
                    format!(
                        "{host} resolves to an address connectors may not reach (loopback, \
                         private or link-local)"
                    )
                    .into()
                };
                return Err(why);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// What a remote server said, as users may read it: printable characters only, one line, at
/// most 120 characters. A remote's words are evidence for a person, never a channel for
/// another server's contents.
pub fn sanitise(remote: &str) -> String {
    let mut out = String::new();
    for c in remote.chars() {
        if out.chars().count() >= 120 {
            out.push('…');
            break;
        }
        if c.is_alphanumeric() || " _-./:,'()#@".contains(c) {
            out.push(c);
        } else if c.is_whitespace() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn addresses_are_classified() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "162.125.1.1", "2606:4700::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn only_public_hosts_and_listed_endpoints_are_allowed() {
        let none = Egress::default();
        assert!(none.allows(DROPBOX, &url("https://api.dropboxapi.com/2/x")));
        assert!(!none.allows(DROPBOX, &url("http://api.dropboxapi.com/2/x")));
        assert!(!none.allows(DROPBOX, &url("https://api.dropboxapi.com.evil.example/")));
        assert!(!none.allows(DROPBOX, &url("http://169.254.169.254/latest")));
        assert!(!none.allows(SLACK, &url("https://api.dropboxapi.com/")));
        assert!(none.allows(S3, &url("https://bucket.s3.eu-west-1.amazonaws.com/")));
        assert!(!none.allows(S3, &url("https://amazonaws.com.evil.example/")));
        assert!(none.check_endpoint(DROPBOX, "http://127.0.0.1:9").is_err());

        let some = Egress::parse("http://127.0.0.1:5010, https://minio.lan:*").unwrap();
        assert!(some.allows(S3, &url("http://127.0.0.1:5010/bucket")));
        assert!(!some.allows(S3, &url("http://127.0.0.1:5011/bucket")));
        assert!(!some.allows(S3, &url("https://127.0.0.1:5010/bucket")));
        assert!(some.allows(S3, &url("https://MINIO.lan:9000/b")));
        assert!(some.trusts_host("minio.lan") && !some.trusts_host("api.dropboxapi.com"));
        let e = some.check_endpoint(DROPBOX, "http://10.0.0.1").unwrap_err();
        assert!(e.contains("http://127.0.0.1:5010"), "{e}");

        for bad in ["ftp://x", "http://x/path", "nonsense", "http://u:p@x"] {
            assert!(Egress::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn names_that_resolve_inside_are_refused_after_resolution() {
        let fenced = Resolver {
            egress: Egress::default(),
        };
        let name = || -> Name { "localhost".parse().unwrap() };
        let e = match fenced.resolve(name()).await {
            Ok(_) => panic!("localhost resolved through the fence"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("may not reach"), "{e}");
        let trusted = Resolver {
            egress: Egress::parse("http://localhost:9").unwrap(),
        };
        let addrs: Vec<SocketAddr> = match trusted.resolve(name()).await {
            Ok(a) => a.collect(),
            Err(e) => panic!("an endpoint the operator listed resolves: {e}"),
        };
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[test]
    fn remote_words_are_cut_and_cleaned() {
        let s = sanitise(
            "<html>\n<script>alert(1)</script>\u{7}secret=\"x\""
                .repeat(20)
                .as_str(),
        );
        assert!(s.chars().count() <= 121, "{s}");
        assert!(
            !s.contains('<') && !s.contains('"') && !s.contains('\n'),
            "{s}"
        );
    }
}
