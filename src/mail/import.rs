//! Reading subscriber files as the team has them: CSV from Excel (`,` `;` or tab, UTF-8 or
//! Windows-1252, with or without a header line) and XLSX workbooks (first sheet).

use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};

/// One data line of a subscriber file, with its line number in the file (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    pub line: usize,
    pub email: String,
    pub name: Option<String>,
}

/// Reads a CSV or XLSX file into rows; the error is a French message.
pub fn read_file(path: &Path) -> Result<Vec<FileRow>, String> {
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
            let bytes = std::fs::read(path)
                .map_err(|e| format!("impossible de lire {} : {e}", path.display()))?;
            read_csv(&bytes)?
        }
    };
    Ok(rows_from_cells(cells))
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

const EMAIL_HEADERS: [&str; 6] = [
    "email",
    "e-mail",
    "mail",
    "courriel",
    "adresse",
    "adresse email",
];
const NAME_HEADERS: [&str; 5] = ["nom", "name", "prénom nom", "nom complet", "contact"];

/// Finds the email (and name) columns: from a header line when there is one (a first line
/// without `@` naming a known column), else the first column holding an address.
fn rows_from_cells(cells: Vec<(usize, Vec<String>)>) -> Vec<FileRow> {
    let mut cells: Vec<(usize, Vec<String>)> = cells
        .into_iter()
        .filter(|(_, row)| row.iter().any(|c| !c.is_empty()))
        .collect();
    if cells.is_empty() {
        return Vec::new();
    }
    let normalise = |c: &str| c.trim().to_lowercase();
    let header = &cells[0].1;
    let has_header = !header.iter().any(|c| looks_like_email(c));
    let (email_col, name_col) = if has_header {
        let email = header
            .iter()
            .position(|c| EMAIL_HEADERS.contains(&normalise(c).as_str()))
            .or_else(|| header.iter().position(|c| normalise(c).contains("mail")));
        let name = header
            .iter()
            .position(|c| NAME_HEADERS.contains(&normalise(c).as_str()));
        (email, name)
    } else {
        (None, None)
    };
    if has_header {
        cells.remove(0);
    }
    let email_col = email_col.or_else(|| {
        cells
            .iter()
            .find_map(|(_, row)| row.iter().position(|c| looks_like_email(c)))
    });
    cells
        .into_iter()
        .map(|(line, row)| {
            let email = email_col
                .and_then(|i| row.get(i))
                .cloned()
                .unwrap_or_default();
            let name = name_col
                .and_then(|i| row.get(i))
                .filter(|n| !n.is_empty())
                .cloned();
            FileRow { line, email, name }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let rows = rows_from_cells(read_csv(&bytes).unwrap());
        assert_eq!(
            rows,
            vec![
                FileRow {
                    line: 2,
                    email: "helene@example.org".into(),
                    name: Some("Hélène".into())
                },
                FileRow {
                    line: 4,
                    email: "paul@example.org".into(),
                    name: Some("Paul".into())
                },
            ]
        );
    }

    #[test]
    fn headerless_comma_and_tab_files() {
        let rows = rows_from_cells(read_csv(b"a@example.org,Anne\nb@example.org,Bruno\n").unwrap());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].email, "b@example.org");
        assert_eq!(rows[1].line, 2);
        let rows = rows_from_cells(
            read_csv("\u{feff}e-mail\tnom\nc@example.org\tClaire\n".as_bytes()).unwrap(),
        );
        assert_eq!(rows[0].email, "c@example.org");
        assert_eq!(rows[0].name.as_deref(), Some("Claire"));
    }
}
