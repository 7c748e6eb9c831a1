//! `veille extract FILE.html [--url URL] [--json]`: the article of a saved page.

use std::path::Path;

use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::extract;

/// Prints the article of `file` (JSON: title, text, author, published, image), or a French
/// error naming the file; exit 1 when the page holds no article, 2 when it cannot be read.
pub fn extract(file: &Path, url: Option<&str>, json: bool) -> i32 {
    if let Some(u) = url
        && url::Url::parse(u).is_err()
    {
        eprintln!(
            "erreur : --url {u} n'est pas une adresse valide (exemple : https://www.exemple.fr/article.html)"
        );
        return EXIT_USAGE;
    }
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("erreur : impossible de lire {} : {e}", file.display());
            return EXIT_USAGE;
        }
    };
    match extract::extract(&bytes, None, url) {
        Ok(article) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&article).expect("plain data serialises")
            );
            EXIT_OK
        }
        Ok(article) => {
            println!("{}", article.title);
            if let Some(author) = &article.author {
                println!("Auteur : {author}");
            }
            if let Some(date) = article.published {
                println!("Publié : {}", date.format("%d/%m/%Y %H:%M UTC"));
            }
            if let Some(image) = &article.image {
                println!("Image : {image}");
            }
            println!("\n{}", article.text);
            EXIT_OK
        }
        Err(e) => {
            eprintln!(
                "erreur : extraction de l'article de {} : {e}",
                file.display()
            );
            EXIT_FAILURE
        }
    }
}
