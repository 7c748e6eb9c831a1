//! Links of a sent edition turned into anonymous counting redirects (`[mail] count_clicks`,
//! off by default): `<base_url>/c/<kind>/<n>/<link>`, the same for every recipient, so a
//! click tells which link was followed and never by whom (no tracking pixel either).

use crate::publish::{
    PREFERENCES_PATH, PREFERENCES_REQUEST_PATH, PREFERENCES_TOKEN_PLACEHOLDER, UNSUBSCRIBE_PATH,
    UNSUBSCRIBE_TOKEN_PLACEHOLDER,
};
use crate::store::Store;

/// Where `veille serve` answers the redirects.
pub(crate) const CLICK_PATH: &str = "/c/";

/// The redirect of link `link` of edition `kind/number`.
pub(crate) fn redirect_url(base_url: &str, kind: &str, number: i64, link: i64) -> String {
    format!("{base_url}{CLICK_PATH}{kind}/{number}/{link}")
}

/// Only outside web links are counted: the reader's own links (unsubscribe, preferences)
/// stay as they are, personal and uncounted.
fn countable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && ![
            UNSUBSCRIBE_PATH,
            UNSUBSCRIBE_TOKEN_PLACEHOLDER,
            PREFERENCES_PATH,
            PREFERENCES_TOKEN_PLACEHOLDER,
            PREFERENCES_REQUEST_PATH,
        ]
        .iter()
        .any(|p| url.contains(p))
}

fn html_unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Calls `each` on every `href="…"` value of `html` (unescaped) and rebuilds the page with
/// what it returns (escaped again), or the value unchanged on None.
fn map_hrefs(html: &str, mut each: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("href=\"") {
        let start = at + "href=\"".len();
        let Some(len) = rest[start..].find('"') else {
            break;
        };
        out.push_str(&rest[..start]);
        let value = &rest[start..start + len];
        match each(&html_unescape(value)) {
            Some(new) => out.push_str(&new.replace('&', "&amp;").replace('"', "&quot;")),
            None => out.push_str(value),
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// The same for every bare `http(s)://…` of a plain text (up to a space, `<`, `>` or a
/// closing bracket, without a final full stop or comma).
fn map_text_urls(text: &str, mut each: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = [rest.find("https://"), rest.find("http://")]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = next else { break };
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let mut len = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | ')' | ']'))
            .unwrap_or(tail.len());
        while len > 0 && matches!(tail.as_bytes()[len - 1], b'.' | b',' | b';' | b':') {
            len -= 1;
        }
        let url = &tail[..len];
        out.push_str(&each(url).unwrap_or_else(|| url.to_string()));
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// The countable links of the edition, in order of first appearance, without repeats.
pub(crate) fn outside_links(html: &str, text: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    let mut note = |url: &str| {
        if countable(url) && !links.iter().any(|l| l == url) {
            links.push(url.to_string());
        }
        None
    };
    map_hrefs(html, &mut note);
    map_text_urls(text, &mut note);
    links
}

/// With `count_clicks`, the HTML and text of an edition's messages with each outside link
/// replaced by its counting redirect (numbers kept in the store); otherwise unchanged.
pub(crate) async fn count_links(
    store: &Store,
    base_url: &str,
    kind: &str,
    number: i64,
    html: String,
    text: String,
) -> anyhow::Result<(String, String)> {
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        anyhow::bail!(
            "[mail] count_clicks demande l'adresse publique de veille serve : donnez \
             [publish] base_url = \"https://…\""
        );
    }
    let links = outside_links(&html, &text);
    let numbers = store.number_links(kind, number, &links).await?;
    let redirect = |url: &str| {
        links
            .iter()
            .position(|l| l == url)
            .map(|i| redirect_url(base_url, kind, number, numbers[i]))
    };
    Ok((map_hrefs(&html, redirect), map_text_urls(&text, redirect)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_links_are_found_once_and_personal_ones_left_alone() {
        let html = "<a href=\"https://exemple.fr/a?x=1&amp;y=2\">A</a> \
                    <a href=\"https://exemple.fr/a?x=1&amp;y=2\">A encore</a> \
                    <a href=\"https://veille.example/desabonnement/JETON-DESABONNEMENT\">d</a> \
                    <a href=\"mailto:x@exemple.fr\">m</a>";
        let text = "Lire : https://exemple.fr/b. Et (https://exemple.fr/c) puis \
                    https://veille.example/preferences/JETON-PREFERENCES\n";
        assert_eq!(
            outside_links(html, text),
            [
                "https://exemple.fr/a?x=1&y=2",
                "https://exemple.fr/b",
                "https://exemple.fr/c"
            ]
        );
        let rewritten = map_hrefs(html, |u| {
            (u == "https://exemple.fr/a?x=1&y=2").then(|| "R&S".into())
        });
        assert!(
            rewritten.contains("href=\"R&amp;S\">A encore"),
            "{rewritten}"
        );
        assert!(rewritten.contains("/desabonnement/JETON-DESABONNEMENT"));
        let text2 = map_text_urls(text, |u| Some(format!("[{u}]")));
        assert!(
            text2.starts_with("Lire : [https://exemple.fr/b]. Et ([https://exemple.fr/c])"),
            "{text2}"
        );
    }
}
