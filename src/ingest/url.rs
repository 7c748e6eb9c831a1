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
pub(crate) fn canonicalize(link: &str) -> String {
    match Url::parse(link.trim()) {
        Ok(url) => canonicalize_url(url),
        Err(_) => link.trim().to_string(),
    }
}

/// [`canonicalize`] of a link already parsed (ingest parses each item's link once).
pub(crate) fn canonicalize_url(mut url: Url) -> String {
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

/// The publisher URL behind a Google News article link, when the link carries it.
///
/// Older Google News ids (`CBMi…`) are base64url-encoded protobuf messages whose field 4 is
/// the publisher URL; newer ones (`AU_yqL…` inside) are opaque and need Google's servers,
/// which veille does not call: those stay as they are and story merging joins them to the
/// publisher's own article by their text.
pub(crate) fn google_news_target(link: &str) -> Option<String> {
    use base64::Engine;
    let url = Url::parse(link).ok()?;
    if url.host_str() != Some("news.google.com") {
        return None;
    }
    if let Some((_, target)) = url.query_pairs().find(|(k, _)| k == "url") {
        return Some(target.into_owned()).filter(|t| t.starts_with("http"));
    }
    let id = url.path_segments()?.next_back()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .ok()?;
    // 0x08 0x13: field 1 varint 19; 0x22: field 4, length-delimited.
    let rest = bytes.strip_prefix(&[0x08, 0x13, 0x22])?;
    let (len, used) = varint(rest)?;
    let target = rest.get(used..used + len)?;
    let target = std::str::from_utf8(target).ok()?;
    (target.starts_with("http://") || target.starts_with("https://")).then(|| target.to_string())
}

fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, b) in bytes.iter().take(4).enumerate() {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{canonicalize, google_news_target};

    #[test]
    fn google_news_links() {
        use base64::Engine;
        let target = "https://www.ladepeche.fr/2026/11/27/precarite-a-toulouse-123.html";
        let mut message = vec![0x08, 0x13, 0x22, target.len() as u8];
        message.extend_from_slice(target.as_bytes());
        message.extend_from_slice(&[0xd2, 0x01, 0x00]);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&message);
        let link = format!("https://news.google.com/rss/articles/{id}?oc=5");
        assert_eq!(google_news_target(&link).as_deref(), Some(target));
        assert_eq!(
            google_news_target(
                "https://news.google.com/news/url?sa=t&url=https://www.lemonde.fr/a.html"
            )
            .as_deref(),
            Some("https://www.lemonde.fr/a.html")
        );
        assert_eq!(
            google_news_target("https://news.google.com/rss/articles/CBMiAU_yqLOpaque?oc=5"),
            None
        );
        assert_eq!(google_news_target("https://www.lemonde.fr/a.html"), None);
    }

    #[test]
    fn real_tracking_urls() {
        let table = [
            (
                "https://www.lemonde.fr/societe/article/2026/11/27/x_123_3224.html?xtor=RSS-3208&utm_source=twitter#xtor=CS1",
                "https://www.lemonde.fr/societe/article/2026/11/27/x_123_3224.html",
            ),
            (
                "https://www.ladepeche.fr/2026/11/27/a.php?utm_medium=Social&utm_campaign=echobox&utm_source=Facebook&fbclid=IwAR0x",
                "https://www.ladepeche.fr/2026/11/27/a.php",
            ),
            (
                "https://www.francetvinfo.fr/societe/x.html?at_medium=RSS&at_campaign=rss#xtor=RSS-3",
                "https://www.francetvinfo.fr/societe/x.html",
            ),
            (
                "https://www.liberation.fr/societe/x/?outputType=amp&mc_cid=abc&mc_eid=def&gclid=zz",
                "https://www.liberation.fr/societe/x/?outputType=amp",
            ),
            (
                "https://actu.fr/occitanie/toulouse_31555/x.html?page=2&id=7",
                "https://actu.fr/occitanie/toulouse_31555/x.html?id=7&page=2",
            ),
        ];
        for (raw, expected) in table {
            assert_eq!(canonicalize(raw), expected, "{raw}");
        }
    }

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
