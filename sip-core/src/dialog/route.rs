//! Route sets and the shape of in-dialog requests (RFC 3261 §12.1.1, §12.1.2, §12.2.1.1).

use crate::message::uri::Uri;
use crate::message::{NameAddr, Request};

/// A dialog's route set: the Record-Route values of the dialog-creating exchange, in the
/// order in-dialog requests carry them as Route (reversed for the UAC, §12.1.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteSet {
    routes: Vec<Box<str>>,
}

impl RouteSet {
    /// The route set a UAS takes from the request's Record-Route rows, in order (§12.1.1).
    pub fn from_request(req: &Request) -> Self {
        RouteSet {
            routes: req
                .record_routes()
                .filter_map(Result::ok)
                .map(|r| r.as_str().into())
                .collect(),
        }
    }

    /// The route set a UAC takes from a response's Record-Route rows, reversed (§12.1.2).
    pub fn from_response(resp: &crate::message::Response) -> Self {
        let mut routes: Vec<Box<str>> = resp
            .record_routes()
            .filter_map(Result::ok)
            .map(|r| r.as_str().into())
            .collect();
        routes.reverse();
        RouteSet { routes }
    }

    /// A route set from values (tests, and re-use).
    pub fn from_values<I: IntoIterator<Item = S>, S: Into<Box<str>>>(v: I) -> Self {
        RouteSet {
            routes: v.into_iter().map(Into::into).collect(),
        }
    }

    /// The values, in request order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|r| &**r)
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the first route is a loose router (`;lr`, §16.12); an empty set counts as
    /// loose.
    pub fn first_is_loose(&self) -> bool {
        self.routes.first().is_none_or(|r| {
            NameAddr::parse(r)
                .ok()
                .and_then(|a| a.uri().ok())
                .and_then(|u| u.as_sip().map(|s| s.lr()))
                .unwrap_or(false)
        })
    }

    /// The Request-URI, the Route rows and the next-hop URI of an in-dialog request
    /// (§12.2.1.1): with a loose first route (or none), the Request-URI is the remote target
    /// and the routes are the route set; with a strict router first, the Request-URI is that
    /// router's URI and the remote target goes last in the Route rows.
    pub fn request_shape(&self, remote_target: &str) -> RequestShape {
        let s = self.shape(remote_target);
        let mut routes: Vec<String> = s.routes.iter().map(|r| r.to_string()).collect();
        if let Some(last) = s.last_route {
            routes.push(format!("<{last}>"));
        }
        RequestShape {
            request_uri: s.request_uri.to_owned(),
            routes,
            next_hop: s.next_hop.to_owned(),
        }
    }

    /// [`RouteSet::request_shape`] borrowing from the route set and the remote target, for
    /// the endpoint's hot path: nothing is copied.
    pub(crate) fn shape<'a>(&'a self, remote_target: &'a str) -> ShapeRef<'a> {
        let first_uri = || {
            self.routes
                .first()
                .and_then(|r| NameAddr::parse(r).ok().map(|a| a.uri_str()))
        };
        if self.first_is_loose() {
            return ShapeRef {
                request_uri: remote_target,
                routes: &self.routes,
                last_route: None,
                next_hop: first_uri().unwrap_or(remote_target),
            };
        }
        // §12.2.1.1: parameters not allowed in a Request-URI are stripped; none are here, so
        // the URI is used as is.
        let first = first_uri().unwrap_or("");
        ShapeRef {
            request_uri: first,
            routes: self.routes.get(1..).unwrap_or(&[]),
            last_route: Some(remote_target),
            next_hop: first,
        }
    }
}

/// [`RequestShape`], borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShapeRef<'a> {
    /// The Request-URI.
    pub(crate) request_uri: &'a str,
    /// Route rows, in order, before `last_route`.
    pub(crate) routes: &'a [Box<str>],
    /// With a strict router first: the remote target, written last as `<URI>`.
    pub(crate) last_route: Option<&'a str>,
    /// The URI whose address the request is sent to.
    pub(crate) next_hop: &'a str,
}

/// What [`RouteSet::request_shape`] computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestShape {
    /// The Request-URI.
    pub request_uri: String,
    /// Route rows, in order.
    pub routes: Vec<String>,
    /// The URI whose address the request is sent to.
    pub next_hop: String,
}

/// The remote target a dialog takes from a request's or response's Contact (§12.1.1,
/// §12.1.2): the URI of its first address, already decoded with the message, if it
/// parses as a URI.
pub(crate) fn contact_target(m: &crate::message::Message) -> Option<String> {
    match m.contact()? {
        crate::message::ContactValue::Addr(a) => {
            let u = a.uri_str();
            Uri::parse(u).ok()?;
            Some(u.to_owned())
        }
        crate::message::ContactValue::Star => None,
    }
}

/// The URI of a Contact header value, if it parses.
pub(crate) fn contact_uri(c: &str) -> Option<String> {
    let a = NameAddr::parse(c).ok()?;
    Uri::parse(a.uri_str()).ok()?;
    Some(a.uri_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response_with_contact(rows: &str) -> crate::message::Response {
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc1\r\n\
             From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c1\r\n\
             CSeq: 1 INVITE\r\n{rows}Content-Length: 0\r\n\r\n"
        );
        match crate::message::parse(
            bytes::Bytes::from(text),
            &crate::message::ParseOptions::default(),
        ) {
            Ok(crate::message::SipMessage::Response(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_remote_target_is_the_first_contact_uri() {
        let r =
            response_with_contact("Contact: \"Bob\" <sip:bob@192.0.2.2:5070;ob>;expires=60\r\n");
        assert_eq!(
            contact_target(&r).as_deref(),
            Some("sip:bob@192.0.2.2:5070;ob")
        );
        let r = response_with_contact("Contact: <sip:b1@192.0.2.2>, <sip:b2@192.0.2.3>\r\n");
        assert_eq!(contact_target(&r).as_deref(), Some("sip:b1@192.0.2.2"));
        let r = response_with_contact("Contact: sip:b@192.0.2.2\r\n");
        assert_eq!(contact_target(&r).as_deref(), Some("sip:b@192.0.2.2"));
        assert_eq!(contact_target(&response_with_contact("")), None);
    }

    #[test]
    fn loose_routing() {
        let rs = RouteSet::from_values(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
        let s = rs.request_shape("sip:bob@192.0.2.4");
        assert_eq!(s.request_uri, "sip:bob@192.0.2.4");
        assert_eq!(
            s.routes,
            ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
        );
        assert_eq!(s.next_hop, "sip:p1.example.com;lr");
        let empty = RouteSet::default().request_shape("sip:bob@192.0.2.4");
        assert_eq!(
            (empty.routes.len(), empty.next_hop.as_str()),
            (0, "sip:bob@192.0.2.4")
        );
    }

    #[test]
    fn strict_router_first() {
        // §12.2.1.1 example: the strict router's URI becomes the Request-URI and the remote
        // target is appended to the Route rows.
        let rs = RouteSet::from_values(["<sip:proxy1>", "<sip:proxy2;lr>"]);
        let s = rs.request_shape("sip:user@remoteua");
        assert_eq!(s.request_uri, "sip:proxy1");
        assert_eq!(s.routes, ["<sip:proxy2;lr>", "<sip:user@remoteua>"]);
        assert_eq!(s.next_hop, "sip:proxy1");
    }
}
