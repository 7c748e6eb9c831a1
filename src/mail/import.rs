//! Reading subscriber files as the team has them: CSV from Excel (`,` `;` or tab, UTF-8 or
//! Windows-1252, with or without a header line) and XLSX workbooks (first sheet).

use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};

use crate::model::SubscriberDetails;

/// One data line of a subscriber file, with its line number in the file (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileRow {
    pub(crate) line: usize,
    pub(crate) email: String,
    /// The display name: « Prénom Nom » when the file has them, else a full-name column.
    pub(crate) name: Option<String>,
    pub(crate) details: SubscriberDetails,
}

/// A subscriber file as read: its rows and which of its columns were used for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberFile {
    pub(crate) rows: Vec<FileRow>,
    /// (column as named in the file, or « colonne N » without a header line; what veille
    /// keeps from it).
    pub(crate) used: Vec<(String, &'static str)>,
    /// Columns left aside, as named in the file.
    pub(crate) ignored: Vec<String>,
}

/// Reads a CSV or XLSX file; the error is a French message. An empty file, one with only a
/// header line, or one without any address column is an error, not "0 imported".
pub fn read_file(path: &Path) -> Result<SubscriberFile, String> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let cells = match extension.as_str() {
        "xlsx" | "xlsm" => read_xlsx(path)?,
        "xls" | "ods" => {
            return Err(format!(
                "{} : format non pris en charge ; enregistrez le classeur en .xlsx ou en .csv",
                path.display()
            ));
        }
        _ => {
            let bytes = std::fs::read(path).map_err(|e| {
                format!(
                    "impossible de lire {} : {}",
                    path.display(),
                    crate::wording::io(&e)
                )
            })?;
            read_csv(&bytes)?
        }
    };
    rows_from_cells(cells).map_err(|e| format!("{} : {e}", path.display()))
}

/// Text of a CSV file: UTF-8 (with or without BOM), else Windows-1252 as Excel writes it.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// The delimiter that splits the first lines most consistently.
fn sniff_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    let mut best = (b',', 0usize);
    for delimiter in [b';', b'\t', b','] {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| l.bytes().filter(|&b| b == delimiter).count())
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        if consistent > best.1 {
            best = (delimiter, consistent);
        }
    }
    best.0
}

/// Cells of a CSV file, with each record's line number.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, String> {
    // One line ending, so that record positions count physical lines.
    let text = decode(bytes).replace("\r\n", "\n").replace('\r', "\n");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(&text))
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("CSV illisible : {e}"))?;
        // A record's position is where the reader started, blank lines skipped included.
        let line = record.position().map_or(0, |p| {
            let skipped = text
                .get(p.byte() as usize..)
                .map_or(0, |rest| rest.bytes().take_while(|&b| b == b'\n').count());
            p.line() as usize + skipped
        });
        out.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(out)
}

fn read_xlsx(path: &Path) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut workbook: Xlsx<_> =
        open_workbook(path).map_err(|e| format!("classeur illisible {} : {e}", path.display()))?;
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        return Err(format!(
            "{} : le classeur n'a aucune feuille",
            path.display()
        ));
    };
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| format!("feuille « {sheet} » illisible : {e}"))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            let cells = row
                .iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    other => other.to_string().trim().to_string(),
                })
                .collect();
            (first_row + i + 1, cells)
        })
        .collect())
}

fn looks_like_email(cell: &str) -> bool {
    cell.contains('@')
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Email,
    FullName,
    FirstName,
    /// « Nom »: the last name next to a « Prénom » column, the full name otherwise.
    Name,
    LastName,
    Organisation,
    Commune,
}

impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::Email => "adresse",
            Field::FullName | Field::Name => "nom",
            Field::FirstName => "prénom",
            Field::LastName => "nom de famille",
            Field::Organisation => "structure",
            Field::Commune => "commune",
        }
    }
}

/// The field a header names, compared without case, accents or punctuation (`E-mail`,
/// `Adresse e-mail`, `Prénom`, `Structure`…).
fn field_of(header: &str) -> Option<Field> {
    let key = crate::text::fold(header);
    let is = |names: &[&str]| names.contains(&key.as_str());
    Some(
        if is(&[
            "email",
            "e mail",
            "mail",
            "mel",
            "courriel",
            "adresse",
            "adresse email",
            "adresse e mail",
            "adresse mail",
            "adresse courriel",
            "adresse electronique",
        ]) || key
            .split(' ')
            .any(|w| w == "mail" || w == "email" || w == "courriel")
        {
            Field::Email
        } else if is(&["prenom", "first name", "firstname", "given name"]) {
            Field::FirstName
        } else if is(&[
            "prenom nom",
            "nom prenom",
            "nom et prenom",
            "prenom et nom",
            "nom complet",
            "name",
            "full name",
            "contact",
        ]) {
            Field::FullName
        } else if is(&["nom"]) {
            Field::Name
        } else if is(&[
            "nom de famille",
            "last name",
            "lastname",
            "surname",
            "family name",
        ]) {
            Field::LastName
        } else if is(&[
            "structure",
            "organisme",
            "organisation",
            "organization",
            "association",
            "etablissement",
            "employeur",
            "societe",
            "entreprise",
            "collectivite",
            "company",
        ]) {
            Field::Organisation
        } else if is(&["commune", "ville", "localite", "city", "town"]) {
            Field::Commune
        } else {
            return None;
        },
    )
}

/// Finds the columns: from a header line when there is one (a first line without `@`), else
/// the first column holding an address, the others being reported as ignored.
fn rows_from_cells(cells: Vec<(usize, Vec<String>)>) -> Result<SubscriberFile, String> {
    let mut cells: Vec<(usize, Vec<String>)> = cells
        .into_iter()
        .filter(|(_, row)| row.iter().any(|c| !c.is_empty()))
        .collect();
    if cells.is_empty() {
        return Err("fichier vide : aucune adresse à importer".into());
    }
    let has_header = !cells[0].1.iter().any(|c| looks_like_email(c));
    let mut columns: Vec<Option<Field>> = Vec::new();
    let mut used = Vec::new();
    let mut ignored = Vec::new();
    if has_header {
        let header = cells.remove(0).1;
        if cells.is_empty() {
            return Err(format!(
                "seulement une ligne d'en-tête ({}) : aucune adresse à importer",
                header.join(" ; ")
            ));
        }
        let has_first_name = header.iter().any(|h| field_of(h) == Some(Field::FirstName));
        for name in &header {
            let field = field_of(name)
                .map(|f| match f {
                    Field::Name if has_first_name => Field::LastName,
                    Field::Name => Field::FullName,
                    other => other,
                })
                // Each field from one column: the first that names it.
                .filter(|f| !columns.contains(&Some(*f)));
            match field {
                Some(f) => used.push((name.clone(), f.label())),
                None if name.is_empty() => {}
                None => ignored.push(name.clone()),
            }
            columns.push(field);
        }
        if !columns.contains(&Some(Field::Email)) {
            // A header naming no address column: the first column holding an address.
            let found = cells
                .iter()
                .find_map(|(_, row)| row.iter().position(|c| looks_like_email(c)));
            let Some(i) = found else {
                return Err(format!(
                    "aucune colonne d'adresses e-mail (colonnes lues : {})",
                    header.join(" ; ")
                ));
            };
            if let Some(name) = header.get(i) {
                ignored.retain(|n| n != name);
                used.retain(|(n, _)| n != name);
                used.push((name.clone(), Field::Email.label()));
            }
            columns.resize(header.len().max(i + 1), None);
            columns[i] = Some(Field::Email);
        }
    } else {
        let width = cells.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        let Some(i) = cells
            .iter()
            .find_map(|(_, row)| row.iter().position(|c| looks_like_email(c)))
        else {
            return Err("aucune adresse e-mail dans le fichier".into());
        };
        columns = vec![None; width];
        columns[i] = Some(Field::Email);
        used.push((format!("colonne {}", i + 1), Field::Email.label()));
        ignored.extend(
            (0..width)
                .filter(|&c| c != i)
                .map(|c| format!("colonne {} (pas de ligne d'en-tête)", c + 1)),
        );
    }
    let rows = cells
        .into_iter()
        .map(|(line, row)| {
            let get = |field: Field| {
                columns
                    .iter()
                    .position(|c| *c == Some(field))
                    .and_then(|i| row.get(i))
                    .map(|v| crate::text::one_line(v))
                    .filter(|v| !v.is_empty())
            };
            let details = SubscriberDetails {
                first_name: get(Field::FirstName),
                last_name: get(Field::LastName),
                organisation: get(Field::Organisation),
                commune: get(Field::Commune),
            };
            let parts: Vec<&str> = [&details.first_name, &details.last_name]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            let name = if parts.is_empty() {
                get(Field::FullName)
            } else {
                Some(parts.join(" "))
            };
            FileRow {
                line,
                email: get(Field::Email).unwrap_or_default(),
                name,
                details,
            }
        })
        .collect();
    Ok(SubscriberFile {
        rows,
        used,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bytes: &[u8]) -> Vec<FileRow> {
        rows_from_cells(read_csv(bytes).unwrap()).unwrap().rows
    }

    #[test]
    fn excel_csv_in_windows_1252_with_semicolons() {
        // « Hélène » in Windows-1252, a header line, a blank line, an address in column 2.
        let mut bytes = b"Nom;Courriel;Structure\r\nH".to_vec();
        bytes.push(0xE9);
        bytes.extend_from_slice(b"l");
        bytes.push(0xE8);
        bytes.extend_from_slice(
            b"ne;helene@example.org;Mairie\r\n\r\nPaul;paul@example.org;\"CCAS; Albi\"\r\n",
        );
        let file = rows_from_cells(read_csv(&bytes).unwrap()).unwrap();
        let organisation = |o: &str| SubscriberDetails {
            organisation: Some(o.into()),
            ..SubscriberDetails::default()
        };
        assert_eq!(
            file.rows,
            vec![
                FileRow {
                    line: 2,
                    email: "helene@example.org".into(),
                    name: Some("Hélène".into()),
                    details: organisation("Mairie"),
                },
                FileRow {
                    line: 4,
                    email: "paul@example.org".into(),
                    name: Some("Paul".into()),
                    details: organisation("CCAS; Albi"),
                },
            ]
        );
        assert!(file.ignored.is_empty(), "{file:?}");
    }

    #[test]
    fn first_and_last_names_organisation_and_commune_are_kept() {
        let file = rows_from_cells(
            read_csv(
                "Nom;Prénom;Adresse e-mail;Structure;Commune;Téléphone\n\
                 Durand;Hélène;helene@example.org;CCAS;Albi;0600000000\n\
                 Martin;;paul@example.org;;;\n"
                    .as_bytes(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            file.used,
            vec![
                ("Nom".to_string(), "nom de famille"),
                ("Prénom".to_string(), "prénom"),
                ("Adresse e-mail".to_string(), "adresse"),
                ("Structure".to_string(), "structure"),
                ("Commune".to_string(), "commune"),
            ]
        );
        assert_eq!(file.ignored, vec!["Téléphone".to_string()]);
        let helene = &file.rows[0];
        assert_eq!(helene.name.as_deref(), Some("Hélène Durand"));
        assert_eq!(
            helene.details,
            SubscriberDetails {
                first_name: Some("Hélène".into()),
                last_name: Some("Durand".into()),
                organisation: Some("CCAS".into()),
                commune: Some("Albi".into()),
            }
        );
        assert_eq!(file.rows[1].name.as_deref(), Some("Martin"));
        assert_eq!(file.rows[1].details.first_name, None);
    }

    #[test]
    fn empty_and_header_only_files_are_errors() {
        let empty = rows_from_cells(read_csv(b"\r\n\r\n").unwrap()).unwrap_err();
        assert!(empty.contains("fichier vide"), "{empty}");
        let header = rows_from_cells(read_csv(b"Nom;Courriel\r\n").unwrap()).unwrap_err();
        assert!(header.contains("seulement une ligne d'en-tête"), "{header}");
        let none = rows_from_cells(read_csv(b"Nom;Ville\nAnne;Albi\n").unwrap()).unwrap_err();
        assert!(none.contains("aucune colonne d'adresses"), "{none}");
    }

    #[test]
    fn headerless_comma_and_tab_files() {
        let file = rows_from_cells(read_csv(b"a@example.org,Anne\nb@example.org,Bruno\n").unwrap())
            .unwrap();
        assert_eq!(file.rows.len(), 2);
        assert_eq!(file.rows[1].email, "b@example.org");
        assert_eq!(file.rows[1].line, 2);
        assert_eq!(
            file.ignored,
            vec!["colonne 2 (pas de ligne d'en-tête)".to_string()]
        );
        let rows = rows("\u{feff}e-mail\tnom\nc@example.org\tClaire\n".as_bytes());
        assert_eq!(rows[0].email, "c@example.org");
        assert_eq!(rows[0].name.as_deref(), Some("Claire"));
    }
}
