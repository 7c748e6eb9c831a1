use super::*;

fn article(id: i64, title: &str, summary: &str) -> SearchDoc {
    SearchDoc {
        id,
        story: id,
        title: title.to_string(),
        summary: summary.to_string(),
        url: format!("https://example.org/{id}"),
        source: "Le Monde".to_string(),
        ..SearchDoc::default()
    }
}

fn date(s: &str) -> Option<DateTime<Utc>> {
    Some(s.parse().unwrap())
}

fn corpus() -> Vec<SearchDoc> {
    vec![
        SearchDoc {
            dossiers: vec!["laicite".into(), "education".into()],
            territories: vec!["haute-garonne".into()],
            published: date("2026-01-15T09:00:00Z"),
            ..article(
                1,
                "La laïcité à l’école, un débat relancé",
                "Le ministre rappelle les principes de la loi de 1905 dans les établissements.",
            )
        },
        SearchDoc {
            dossiers: vec!["securite".into()],
            territories: vec!["gers".into()],
            source: "La Dépêche du Midi".into(),
            published: date("2026-02-03T18:30:00Z"),
            ..article(
                2,
                "Sécurité : nouveau plan de prévention de la délinquance",
                "Le préfet du Gers présente un plan pour les quartiers prioritaires.",
            )
        },
        SearchDoc {
            dossiers: vec!["discrimination".into()],
            published: date("2025-12-20T10:00:00Z"),
            ..article(
                3,
                "Un rapport sur la discrimination à l'embauche",
                "Le Défenseur des droits publie son étude annuelle.",
            )
        },
        SearchDoc {
            dossiers: vec!["pauvrete".into()],
            territories: vec!["aude".into()],
            published: date("2026-01-31T23:30:00Z"),
            ..article(
                4,
                "Le seuil de pauvreté relevé",
                "Plus de neuf millions de personnes vivent sous le seuil de pauvreté, selon l'Insee.",
            )
        },
        SearchDoc {
            dossiers: vec!["pauvrete".into(), "education".into()],
            ..article(
                5,
                "Cantine à un euro : les communes rurales hésitent",
                "La pauvreté des familles pèse sur la scolarité ; le seuil d'accès reste flou.",
            )
        },
        SearchDoc {
            published: date("2026-03-01T08:00:00Z"),
            ..article(6, "Laïcité et sécurité au menu du conseil municipal", "")
        },
    ]
}

fn setup() -> (tempfile::TempDir, SearchIndex) {
    let tmp = tempfile::tempdir().unwrap();
    let (index, needs_rebuild) = SearchIndex::open(&tmp.path().join("search")).unwrap();
    assert!(needs_rebuild, "a new index must be filled from the store");
    assert_eq!(index.rebuild(corpus()).unwrap(), 6);
    (tmp, index)
}

fn ids(index: &SearchIndex, query: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = index
        .search(query, None, 20)
        .unwrap_or_else(|e| panic!("{query}: {e:#}"))
        .into_iter()
        .map(|h| h.id)
        .collect();
    ids.sort();
    ids
}

fn error(index: &SearchIndex, query: &str) -> String {
    let e = index.search(query, None, 20).unwrap_err();
    assert!(e.downcast_ref::<InvalidQuery>().is_some(), "{e:#}");
    e.to_string()
}

#[test]
fn accents_and_plurals() {
    let (_tmp, index) = setup();
    assert_eq!(ids(&index, "laicite"), vec![1, 6]);
    assert_eq!(ids(&index, "LAÏCITÉ"), vec![1, 6]);
    assert_eq!(ids(&index, "securite"), vec![2, 6]);
    assert_eq!(ids(&index, "discriminations"), vec![3]);
    assert_eq!(ids(&index, "l'école"), vec![1]);
    assert_eq!(ids(&index, "ecoles"), vec![1]);
}

#[test]
fn conjunction_by_default_and_operators() {
    let (_tmp, index) = setup();
    assert_eq!(ids(&index, "laïcité sécurité"), vec![6]);
    assert_eq!(ids(&index, "laïcité AND sécurité"), vec![6]);
    assert_eq!(ids(&index, "laïcité ET sécurité"), vec![6]);
    assert_eq!(ids(&index, "laïcité OR discrimination"), vec![1, 3, 6]);
    assert_eq!(ids(&index, "laïcité OU discrimination"), vec![1, 3, 6]);
    assert_eq!(ids(&index, "(laïcité OR sécurité) -école"), vec![2, 6]);
    assert_eq!(ids(&index, "laïcité -sécurité"), vec![1]);
    // Stop words do not have to be present: `sur` and `la` are not in article 1.
    assert_eq!(ids(&index, "principes sur la loi"), vec![1]);
    assert_eq!(ids(&index, "Laïcité : le débat"), vec![1]);
}

#[test]
fn phrases() {
    let (_tmp, index) = setup();
    assert_eq!(ids(&index, "seuil pauvreté"), vec![4, 5]);
    assert_eq!(ids(&index, "\"seuil de pauvreté\""), vec![4]);
    assert_eq!(ids(&index, "\"seuil de pauvrete\""), vec![4]);
    assert_eq!(ids(&index, "'seuil de pauvreté'"), vec![4]);
    assert_eq!(ids(&index, "\"pauvreté seuil\""), Vec::<i64>::new());
    // Slop: words in between.
    assert_eq!(ids(&index, "\"plan quartiers\"~4"), vec![2]);
}

#[test]
fn fields() {
    let (_tmp, index) = setup();
    assert_eq!(ids(&index, "dossier:pauvrete"), vec![4, 5]);
    assert_eq!(ids(&index, "seuil dossier:pauvrete"), vec![4, 5]);
    assert_eq!(ids(&index, "seuil dossier:Pauvreté"), vec![4, 5]);
    assert_eq!(ids(&index, "seuil -dossier:education"), vec![4]);
    assert_eq!(ids(&index, "dossier : education"), vec![1, 5]);
    assert_eq!(ids(&index, "territoire:gers"), vec![2]);
    assert_eq!(ids(&index, "territory:Haute-Garonne"), vec![1]);
    assert_eq!(ids(&index, "source:depeche"), vec![2]);
    assert_eq!(ids(&index, "source:\"le monde\" plan"), Vec::<i64>::new());
    assert_eq!(ids(&index, "source:monde seuil"), vec![4, 5]);
    // `Gers` is in the summary of 2, not in a title.
    assert_eq!(ids(&index, "gers"), vec![2]);
    assert_eq!(ids(&index, "titre:gers"), Vec::<i64>::new());
    assert_eq!(ids(&index, "resume:gers"), vec![2]);
    assert_eq!(ids(&index, "titre:laicite"), vec![1, 6]);
}

#[test]
fn dossier_option_filters_without_changing_scores() {
    let (_tmp, index) = setup();
    let all = index.search("seuil", None, 20).unwrap();
    let filtered = index.search("seuil", Some("Pauvreté"), 20).unwrap();
    assert_eq!(all, filtered);
    let education = index.search("pauvreté", Some("education"), 20).unwrap();
    assert_eq!(education.iter().map(|h| h.id).collect::<Vec<_>>(), vec![5]);
    assert!(
        index
            .search("pauvreté", Some("inconnu"), 20)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn date_ranges() {
    let (_tmp, index) = setup();
    assert_eq!(
        ids(
            &index,
            "date:[2026-01-01T00:00:00Z TO 2026-02-01T00:00:00Z}"
        ),
        vec![1, 4]
    );
    // Days are Paris days: article 4 was published on 1 February, 00:30 in Paris.
    assert_eq!(ids(&index, "date:2026-01"), vec![1]);
    assert_eq!(ids(&index, "date:[2026-01-01 TO 2026-01-31]"), vec![1]);
    assert_eq!(ids(&index, "date:[2026-01-15 TO 2026-02-01]"), vec![1, 4]);
    assert_eq!(ids(&index, "date:15/01/2026"), vec![1]);
    assert_eq!(ids(&index, "depuis:2026-02-01"), vec![2, 4, 6]);
    assert_eq!(ids(&index, "avant:2026"), vec![3]);
    assert_eq!(ids(&index, "pauvreté since:2026-01"), vec![4]);
    assert_eq!(ids(&index, "date:>=2026-02-02"), vec![2, 6]);
    assert!(error(&index, "depuis:hier").contains("date incorrecte"));
}

#[test]
fn results_carry_what_the_cli_shows() {
    let (_tmp, index) = setup();
    let hits = index.search("laicite", None, 20).unwrap();
    // The word in the title weighs more than the rest: both have it in the title, the
    // shorter title first.
    assert_eq!(hits.len(), 2);
    let one = hits.iter().find(|h| h.id == 1).unwrap();
    assert_eq!(one.story, 1);
    assert_eq!(one.url, "https://example.org/1");
    assert_eq!(one.source, "Le Monde");
    assert_eq!(one.published, date("2026-01-15T09:00:00Z"));
    assert!(one.score > 0.0);
    // No query word in this summary: its beginning.
    assert!(
        one.snippet.starts_with("Le ministre rappelle"),
        "{}",
        one.snippet
    );
    assert!(one.highlighted.is_empty());
    // No summary: the title, highlighted.
    let six = hits.iter().find(|h| h.id == 6).unwrap();
    let marked = highlight(&six.snippet, &six.highlighted, "[", "]");
    assert_eq!(marked, "[Laïcité] et sécurité au menu du conseil municipal");

    let hits = index.search("seuil pauvrete", None, 20).unwrap();
    assert_eq!(hits.len(), 2);
    let four = hits.iter().find(|h| h.id == 4).unwrap();
    assert_eq!(
        highlight(&four.snippet, &four.highlighted, "**", "**"),
        "Plus de neuf millions de personnes vivent sous le **seuil** de **pauvreté**, selon \
         l'Insee."
    );
    // A word in the title weighs more than in the summary only.
    let ranked: Vec<i64> = index
        .search("pauvreté", None, 20)
        .unwrap()
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ranked, vec![4, 5]);
    let json = serde_json::to_value(&hits[0]).unwrap();
    for key in [
        "id",
        "story",
        "title",
        "url",
        "score",
        "snippet",
        "source",
        "published",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert!(json.get("highlighted").is_none());
    assert_eq!(index.search("seuil", None, 1).unwrap().len(), 1);
    assert!(index.search("seuil", None, 0).unwrap().is_empty());
}

#[test]
fn long_summaries_are_cut_around_the_match() {
    let (_tmp, index) = setup();
    let long = format!(
        "{} La médiation sociale gagne les quartiers. {}",
        "Préambule sans rapport. ".repeat(20),
        "Conclusion sans rapport. ".repeat(20)
    );
    let mut writer = index.writer().unwrap();
    index
        .upsert(&writer, &[article(7, "Un long article", &long)])
        .unwrap();
    index.commit(&mut writer).unwrap();
    let hit = &index.search("médiation", None, 5).unwrap()[0];
    assert!(
        hit.snippet.starts_with('…') && hit.snippet.ends_with('…'),
        "{}",
        hit.snippet
    );
    assert!(hit.snippet.len() < 300);
    let (start, end) = hit.highlighted[0];
    assert_eq!(&hit.snippet[start..end], "médiation");
}

#[test]
fn invalid_queries_say_why_in_french() {
    let (_tmp, index) = setup();
    assert!(error(&index, "\"seuil de pauvreté").contains("syntaxe incorrecte"));
    assert!(error(&index, "couleur:rouge").contains("champ inconnu « couleur »"));
    assert!(error(&index, "Laïcité: la loi").contains("une espace avant"));
    assert!(error(&index, "dossier:*").contains("date:*"));
    assert_eq!(ids(&index, "date:*"), vec![1, 2, 3, 4, 6]);
    assert!(error(&index, "-laïcité").contains("que des exclusions"));
    assert!(error(&index, "le la les").contains("mots trop courants"));
    assert!(error(&index, "   ").contains("vide"));
    assert!(error(&index, "date:[2026 TO demain]").contains("date incorrecte"));
}

#[test]
fn upsert_replaces_by_id() {
    let (_tmp, index) = setup();
    let mut writer = index.writer().unwrap();
    let changed = article(3, "Discrimination : le rapport corrigé", "");
    index.upsert(&writer, &[changed.clone(), changed]).unwrap();
    index.commit(&mut writer).unwrap();
    let hits = index.search("discrimination", None, 20).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].title, "Discrimination : le rapport corrigé");
    assert_eq!(index.num_docs(), 6);
    index.delete(&writer, &[3]);
    index.commit(&mut writer).unwrap();
    assert!(index.search("discrimination", None, 20).unwrap().is_empty());
    drop(writer);
    // The short-lived path of `veille fetch`.
    index
        .index_docs(&[article(8, "Discrimination", "")])
        .unwrap();
    assert_eq!(ids(&index, "discrimination"), vec![8]);
}

#[test]
fn one_writer_at_a_time() {
    let (_tmp, index) = setup();
    let _writer = index.writer().unwrap();
    let Err(e) = index.writer() else {
        panic!("a second writer must be refused")
    };
    let busy = e.downcast_ref::<WriterBusy>().expect("a WriterBusy error");
    assert_eq!(busy.pid, Some(std::process::id()));
    assert!(
        e.to_string()
            .contains("déjà ouvert en écriture par ce même processus"),
        "{e}"
    );
    let other = WriterBusy {
        dir: "archive/search".into(),
        pid: Some(4242),
        command: Some("veille run".into()),
        since: Some("2026-03-01T08:00:00Z".into()),
    };
    assert!(
        other
            .to_string()
            .starts_with("l'index de recherche archive/search est déjà ouvert en écriture par le processus 4242 (veille run, depuis 2026-03-01T08:00:00Z) ; "),
        "{other}"
    );
    // Reading goes on meanwhile.
    assert_eq!(ids(&index, "laicite"), vec![1, 6]);
}

#[test]
fn version_change_or_damage_asks_for_a_rebuild() {
    let (tmp, index) = setup();
    let dir = tmp.path().join("search");
    drop(index);
    let (index, needs_rebuild) = SearchIndex::open(&dir).unwrap();
    assert!(!needs_rebuild);
    assert_eq!(index.num_docs(), 6);
    drop(index);

    std::fs::write(dir.join(VERSION_FILE), "schema 0\n").unwrap();
    let (index, needs_rebuild) = SearchIndex::open(&dir).unwrap();
    assert!(needs_rebuild);
    assert_eq!(index.num_docs(), 0, "recreated empty");
    // Until the rebuild is done, every opening asks again.
    drop(index);
    let (index, needs_rebuild) = SearchIndex::open(&dir).unwrap();
    assert!(needs_rebuild);
    // Page by page, as from the store.
    let writer = index.begin_rebuild().unwrap();
    for page in corpus().chunks(4) {
        index.upsert(&writer, page).unwrap();
    }
    index.finish_rebuild(writer).unwrap();
    drop(index);
    let (index, needs_rebuild) = SearchIndex::open(&dir).unwrap();
    assert!(!needs_rebuild);
    assert_eq!(ids(&index, "laicite"), vec![1, 6]);

    // While a writer holds the lock and VERSION is missing (a rebuild under way), readers
    // read what is there rather than fail or recreate it under the writer's feet.
    let writer = index.writer().unwrap();
    std::fs::remove_file(dir.join(VERSION_FILE)).unwrap();
    let (reader, needs_rebuild) = SearchIndex::open(&dir).unwrap();
    assert!(!needs_rebuild);
    assert_eq!(reader.num_docs(), 6);
    drop((reader, writer, index));

    std::fs::write(dir.join("meta.json"), "{ pas du json").unwrap();
    let (index, needs_rebuild) = SearchIndex::open(&dir).unwrap();
    assert!(needs_rebuild);
    assert_eq!(index.num_docs(), 0);
}

#[test]
fn version_file_tracks_schema_and_analysers() {
    let text = version_text();
    assert!(text.starts_with(&format!("schema {SCHEMA_VERSION}\n")));
    assert!(text.contains("laicit@"), "{text}");
    assert_eq!(text, version_text());
}

const CHILD_DIR: &str = "VEILLE_TEST_SEARCH_DIR";
const CHILD_READY: &str = "VEILLE_CHILD_HOLDS_THE_WRITER";

/// Run by `another_process_holds_the_writer` in a child process: holds the writer until its
/// stdin closes.
#[test]
#[ignore = "helper run in a child process by another_process_holds_the_writer"]
fn hold_writer_child() {
    use std::io::Write;
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let (index, _) = SearchIndex::open(Path::new(&dir)).unwrap();
    let _writer = index.writer().unwrap();
    // libtest prints the test name on the same line: a marker, not a whole line.
    println!("\n{CHILD_READY}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn another_process_holds_the_writer() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let (tmp, index) = setup();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "search::tests::hold_writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, tmp.path().join("search"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the marker in a thread, so that a child that never gets there fails the test
    // instead of hanging it.
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end, so that the child never writes into a closed pipe.
        for line in stdout.lines().map_while(Result::ok) {
            if line.contains(CHILD_READY) {
                let _ = ready_tx.send(true);
            }
        }
        let _ = ready_tx.send(false);
    });
    let ready = ready_rx.recv_timeout(std::time::Duration::from_secs(60));
    if ready != Ok(true) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the child process did not take the writer ({ready:?})");
    }

    let Err(e) = index.writer() else {
        panic!("the index is held by the child process")
    };
    let busy = e.downcast_ref::<WriterBusy>().expect("a WriterBusy error");
    assert_eq!(busy.pid, Some(child.id()));
    assert!(
        busy.command
            .as_deref()
            .is_some_and(|c| c.contains("hold_writer_child")),
        "{busy:?}"
    );
    assert!(
        e.to_string()
            .contains(&format!("par le processus {} (", child.id())),
        "{e}"
    );
    // Reading goes on meanwhile, in this process and in a new opening.
    assert_eq!(ids(&index, "laicite"), vec![1, 6]);
    let (other, needs_rebuild) = SearchIndex::open(&tmp.path().join("search")).unwrap();
    assert!(!needs_rebuild);
    assert_eq!(ids(&other, "securite"), vec![2, 6]);

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    index.writer().expect("free again once the child is gone");
}
