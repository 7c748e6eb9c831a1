//! The free blocks of editions: Markdown written by the team, rendered with pulldown-cmark
//! and sanitised with ammonia (a pasted `<script>` or `onclick` never reaches a reader).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

/// Markdown → safe HTML. Raw HTML in the source is sanitised, not trusted; images keep (or
/// get) an `alt` attribute; links open normally and carry `rel="noopener noreferrer"`.
pub(crate) fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION,
    );
    let mut raw = String::new();
    html::push_html(&mut raw, parser);
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect());
    let clean = builder.clean(&raw).to_string();
    ensure_alt(&clean)
}

/// Markdown → plain text for the text part of an email: emphasis dropped, a link as
/// `texte <https://…>` (its address alone when the text is the address), headings and
/// paragraphs separated by a blank line, list items as `- ` or `1. `, raw HTML tags left out.
pub(crate) fn to_text(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION,
    );
    let mut out = String::new();
    // Open lists: the next number of an ordered one, None for bullets.
    let mut lists: Vec<Option<u64>> = Vec::new();
    // Open links and images: their address and where their text started in `out`.
    let mut links: Vec<(String, usize)> = Vec::new();
    let mut quote = 0usize;
    let new_block = |out: &mut String| {
        let trimmed = out.trim_end_matches([' ', '\n']).len();
        out.truncate(trimmed);
        if !out.is_empty() {
            out.push_str("\n\n");
        }
    };
    let new_line = |out: &mut String, quote: usize| {
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
        out.push_str(&"> ".repeat(quote));
    };
    for event in parser {
        match event {
            Event::Start(Tag::Paragraph | Tag::Heading { .. } | Tag::CodeBlock(_))
                if lists.is_empty() =>
            {
                new_block(&mut out);
                out.push_str(&"> ".repeat(quote));
            }
            Event::Start(Tag::BlockQuote(_)) => {
                new_block(&mut out);
                quote += 1;
            }
            Event::End(TagEnd::BlockQuote(_)) => quote = quote.saturating_sub(1),
            Event::Start(Tag::List(start)) => {
                if lists.is_empty() {
                    new_block(&mut out);
                }
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    new_line(&mut out, quote);
                }
                let depth = lists.len().saturating_sub(1);
                out.push_str(&"  ".repeat(depth));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("- "),
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => new_line(&mut out, quote),
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                links.push((dest_url.to_string(), out.len()));
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                if let Some((url, start)) = links.pop() {
                    let label = out[start..].trim().to_string();
                    let shown = url.strip_prefix("mailto:").unwrap_or(&url);
                    if label.is_empty() || label == url || label == shown {
                        out.truncate(start);
                        out.push_str(shown);
                    } else {
                        out.push_str(&format!(" <{shown}>"));
                    }
                }
            }
            Event::Start(Tag::TableRow | Tag::TableHead)
                if !out.is_empty() && !out.ends_with('\n') =>
            {
                new_line(&mut out, quote)
            }
            Event::End(TagEnd::TableCell) => out.push_str(" | "),
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => {
                let trimmed = out.trim_end_matches([' ', '|']).len();
                out.truncate(trimmed);
            }
            Event::Start(Tag::Table(_)) => new_block(&mut out),
            Event::Text(text) | Event::Code(text) => {
                let mut lines = text.split('\n').peekable();
                while let Some(line) = lines.next() {
                    out.push_str(line);
                    if lines.peek().is_some() {
                        new_line(&mut out, quote);
                    }
                }
            }
            Event::SoftBreak | Event::HardBreak => new_line(&mut out, quote),
            Event::Html(raw) | Event::InlineHtml(raw) => out.push_str(&strip_tags(&raw)),
            Event::Rule => {
                new_block(&mut out);
                out.push_str("---");
            }
            _ => {}
        }
    }
    out.trim().to_string()
}

/// The text of raw HTML written in Markdown, tags left out.
fn strip_tags(raw: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in raw.chars() {
        match c {
            '<' => inside = true,
            '>' if inside => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.trim_end_matches('\n').to_string()
}

/// ammonia keeps a written `alt`; an image without one gets an empty one (decorative), as
/// mail clients and screen readers expect.
fn ensure_alt(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find("<img") {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let end = from.find('>').map_or(from.len(), |e| e + 1);
        let tag = &from[..end];
        if tag.contains(" alt=") {
            out.push_str(tag);
        } else {
            out.push_str(&tag.replacen("<img", "<img alt=\"\"", 1));
        }
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = to_html(
            "**Édito** : [le rapport](https://example.org/r)\n\n<script>alert(1)</script>\n\n<a href=\"javascript:alert(1)\" onclick=\"x()\">piège</a>",
        );
        assert!(html.contains("<strong>Édito</strong>"), "{html}");
        assert!(html.contains("href=\"https://example.org/r\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
    }

    #[test]
    fn the_text_part_reads_as_plain_text() {
        let text = to_text(
            "**Flash Info** : le *Pacte* est paru.\n\n\
             Lire [Pacte des solidarités](https://example.org/pacte) ou <https://example.org/b>.\n\n\
             ## Rendez-vous\n\n- un forum à **Albi**\n- une [réunion](mailto:a@example.org)\n\n\
             1. premier\n2. second\n\n<b>gras</b> brut",
        );
        assert_eq!(
            text,
            "Flash Info : le Pacte est paru.\n\n\
             Lire Pacte des solidarités <https://example.org/pacte> ou https://example.org/b.\n\n\
             Rendez-vous\n\n- un forum à Albi\n- une réunion <a@example.org>\n\n\
             1. premier\n2. second\n\ngras brut"
        );
        assert!(!text.contains("**") && !text.contains("]("), "{text}");
    }

    #[test]
    fn every_image_has_an_alt() {
        let html = to_html(
            "![Affiche du forum](https://example.org/a.png)\n\n<img src=\"https://example.org/b.png\">",
        );
        assert!(html.contains("alt=\"Affiche du forum\""), "{html}");
        assert_eq!(html.matches("<img").count(), 2, "{html}");
        assert_eq!(html.matches("alt=").count(), 2, "{html}");
    }
}
