//! The one URL canonicalisation used everywhere: two links to the same article compare equal.

use url::Url;

/// Query parameters that only track the reader.
fn is_tracking(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || n.starts_with("at_")
        || n.starts_with("pk_")
        || n.starts_with("mtm_")
        || matches!(
            n.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "xtor"
                | "xtref"
                | "_ga"
                | "igshid"
                | "yclid"
                | "ocid"
                | "cmpid"
                | "ito"
                | "ns_mchannel"
                | "ns_source"
                | "ns_campaign"
                | "ns_linkname"
                | "ns_fee"
                | "wt.mc_id"
                | "oly_enc_id"
                | "oly_anon_id"
                | "vero_id"
                | "_hsenc"
                | "_hsmi"
                | "mkt_tok"
                | "ref_src"
        )
}

/// Lowercase scheme and host, default port and fragment dropped, tracking parameters
/// removed, remaining parameters sorted. Returns the input unchanged when it is not a URL.
pub fn canonicalize(link: &str) -> String {
    let Ok(mut url) = Url::parse(link.trim()) else {
        return link.trim().to_string();
    };
    // The url crate already lowercases scheme and host and drops a default port.
    url.set_fragment(None);
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        pairs.sort();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::canonicalize;

    #[test]
    fn tracking_and_noise_removed() {
        assert_eq!(
            canonicalize(
                "HTTPS://WWW.LaDepeche.fr:443/article.html?utm_source=rss&xtor=RSS-1&b=2&a=1#comments"
            ),
            "https://www.ladepeche.fr/article.html?a=1&b=2"
        );
        assert_eq!(
            canonicalize("http://exemple.fr:80/a?fbclid=x&at_medium=y"),
            "http://exemple.fr/a"
        );
        assert_eq!(
            canonicalize("http://exemple.fr:8080/a"),
            "http://exemple.fr:8080/a"
        );
        assert_eq!(canonicalize("pas une url"), "pas une url");
    }
}
