//! The plans SQLite chooses for the statements that read a story's tags or rebuild inbox
//! rows. veille never runs `ANALYZE`, so SQLite plans without statistics, and an index led
//! by the centre (`tags_dossier`, the tags' primary key) then looks as selective as the
//! story's articles: reading every tag of the centre for each story made the inbox's
//! rebuild quadratic at 100,000 stories and each detail read linear (issue 17). The guard
//! is the plan, not a time: each statement must reach the tags by article.

use super::Store;

/// The plan of `sql` (its placeholders bound to 1), one line per step, each line prefixed
/// with `~` when it is inside a correlated subquery (run once per outer row).
async fn plan(store: &Store, sql: &str, binds: usize) -> Vec<String> {
    let pool = store.sqlite_pool().expect("plans are SQLite's");
    let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {sql}"
    )));
    for _ in 0..binds {
        query = query.bind(1_i64);
    }
    let rows = query.fetch_all(pool).await.unwrap();
    let mut correlated: Vec<i64> = Vec::new();
    rows.into_iter()
        .map(|(id, parent, _, detail)| {
            let inside = correlated.contains(&parent);
            if inside || detail.starts_with("CORRELATED") {
                correlated.push(id);
            }
            format!("{}{detail}", if inside { "~" } else { "" })
        })
        .collect()
}

/// What every plan here must hold: no read of a centre's whole tags (or of anything by the
/// centre alone), no scan repeated per row, and the tags reached by article. `scans`: the
/// tables (by alias) the statement may read whole, once.
fn check(name: &str, lines: &[String], scans: &[&str]) {
    let shown = lines.join("\n");
    for line in lines {
        assert!(
            !line.contains("(centre=?)"),
            "{name} reads by the centre alone:\n{shown}"
        );
        assert!(
            !line.starts_with("~SCAN "),
            "{name} scans once per row:\n{shown}"
        );
        if let Some(rest) = line.strip_prefix("SCAN ") {
            let alias = rest.split_whitespace().next().unwrap_or("");
            assert!(
                scans.contains(&alias),
                "{name} reads `{alias}` whole:\n{shown}"
            );
        }
    }
    assert!(
        lines.iter().any(|l| l.contains("article_id=?")),
        "{name} does not reach the tags by article:\n{shown}"
    );
}

#[tokio::test]
async fn a_story_s_tags_and_its_inbox_rows_are_read_by_article_not_by_centre() {
    let dir = tempfile::tempdir().unwrap();
    // SQLite whatever the test pass: these are its plans (PostgreSQL keeps statistics).
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    // The materialised parts of the fill (`m`, `v`, `x`) and the centres are read whole.
    let own = ["m", "v", "x", "c"];
    let refresh = super::inbox::fill_sql(Some(3), false);
    check("refresh", &plan(&store, &refresh, 3).await, &own);
    // A whole rebuild reads the articles once; never the tags once per row.
    let rebuild = super::inbox::fill_sql(None, false);
    let whole = ["m", "v", "x", "c", "b", "s"];
    check("rebuild", &plan(&store, &rebuild, 0).await, &whole);
    let centre = super::inbox::fill_sql(None, true);
    check("fill_centre", &plan(&store, &centre, 1).await, &whole);
    check(
        "STORY_TAGS",
        &plan(&store, super::triage::STORY_TAGS, 2).await,
        &[],
    );
    check(
        "STORY_DOSSIERS",
        &plan(&store, super::triage::STORY_DOSSIERS, 2).await,
        &[],
    );
    // One pass over the window's stories, their tags read by article for each.
    check(
        "STORIES_TO_SCORE",
        &plan(&store, super::learning::STORIES_TO_SCORE, 2).await,
        &["a"],
    );
}

/// The check itself: the shape of before (the story's articles joined to the tags, the
/// planner free to start from the centre's tags) is refused.
#[tokio::test]
#[should_panic(expected = "reads by the centre alone")]
async fn the_check_refuses_the_join_that_read_every_tag_of_the_centre() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    let before = "SELECT DISTINCT t.dossier FROM tags t JOIN articles a ON a.id = t.article_id
                  WHERE (a.id = $1 OR a.story = $1) AND t.centre = $2 ORDER BY t.dossier";
    check("before", &plan(&store, before, 2).await, &[]);
}
