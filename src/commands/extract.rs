//! `veille extract FILE.html [--url URL] [--json]`: the article of a saved page.

use std::fmt;
use std::path::Path;

use super::report::{CommandError, Report};
use crate::extract::{self, Extracted};

/// The article of `file` (JSON: title, text, author, published, image), or a French error
/// naming the file: a runtime error (exit 1) when the page holds no article, a usage error
/// (exit 2) when it cannot be read.
pub(crate) fn extract(file: &Path, url: Option<&str>) -> Result<Article, CommandError> {
    if let Some(u) = url
        && url::Url::parse(u).is_err()
    {
        return Err(CommandError::Usage(format!(
            "erreur : --url {u} n'est pas une adresse valide (exemple : https://www.exemple.fr/article.html)"
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| {
        CommandError::Usage(format!(
            "erreur : impossible de lire {} : {e}",
            file.display()
        ))
    })?;
    extract::extract(&bytes, None, url)
        .map(Article)
        .map_err(|e| {
            CommandError::Runtime(anyhow::anyhow!(
                "extraction de l'article de {} : {e}",
                file.display()
            ))
        })
}

/// The article of a saved page: its JSON document, or its title, what is known of it, then
/// its text.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Article(Extracted);

impl Report for Article {
    const PRETTY: bool = true;
}

impl fmt::Display for Article {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let article = &self.0;
        f.write_str(&article.title)?;
        if let Some(author) = &article.author {
            write!(f, "\nAuteur : {author}")?;
        }
        if let Some(date) = article.published {
            write!(f, "\nPublié : {}", date.format("%d/%m/%Y %H:%M UTC"))?;
        }
        if let Some(image) = &article.image {
            write!(f, "\nImage : {image}")?;
        }
        write!(f, "\n\n{}", article.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_article_reads_as_text_and_as_the_json_of_the_contract() {
        let article = Article(Extracted {
            title: "Le Mirail rénové".into(),
            text: "Premier paragraphe.\nSecond paragraphe.".into(),
            author: Some("Léa Dupont".into()),
            published: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
                    .unwrap(),
            ),
            image: None,
        });
        assert_eq!(
            article.to_string(),
            "Le Mirail rénové\nAuteur : Léa Dupont\nPublié : 20/11/2026 10:00 UTC\n\n\
             Premier paragraphe.\nSecond paragraphe."
        );
        assert_eq!(
            serde_json::to_string_pretty(&article).unwrap(),
            "{\n  \"title\": \"Le Mirail rénové\",\n  \"text\": \"Premier paragraphe.\\nSecond \
             paragraphe.\",\n  \"author\": \"Léa Dupont\",\n  \"published\": \
             \"2026-11-20T10:00:00Z\",\n  \"image\": null\n}"
        );
        let bare = Article(Extracted {
            title: "Titre".into(),
            text: "Texte.".into(),
            author: None,
            published: None,
            image: Some("https://exemple.fr/i.jpg".into()),
        });
        assert_eq!(
            bare.to_string(),
            "Titre\nImage : https://exemple.fr/i.jpg\n\nTexte."
        );
    }
}
