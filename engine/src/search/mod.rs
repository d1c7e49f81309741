//! Full-text search: an embedded tantivy index of the extracted text, fed from the database's
//! outbox. The database stays the truth: every change to what is searchable is written to
//! `index_outbox` in the transaction that makes it, and [`SearchIndex::catch_up`] applies the
//! entries after commit (and at start-up). The index records in its own commit how far it has
//! applied the outbox, so a crash between the two is repaired by applying again; and
//! [`SearchIndex::rebuild`] recreates it from the database.
//!
//! tantivy ranks top-k without scoring every match (block-max WAND), which keeps common words
//! fast where SQLite FTS5 and PostgreSQL `ts_rank` score every matching row.

pub mod query;

use std::path::Path;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::error::{EngineError, Result};
use crate::model::IndexDoc;
use crate::store::Store;
use query::TextFields;

/// Bumped when the schema changes; an index of another version is rebuilt.
const SCHEMA_VERSION: &str = "2";
/// Tried and left out (2026-11-28, `bench/search.sh`): 256 MB changed nothing, since segments
/// end at each commit, not when memory fills.
const WRITER_MEMORY: usize = 64 * 1024 * 1024;
/// One thread was tried and was slower; more than two have no cores here to run on.
const INDEX_THREADS: usize = 2;
/// The most outbox entries a catch-up applies before it commits.
const COMMIT_EVERY: usize = 20_000;
/// While a backlog is indexed, segments of a size merge only once this many have piled up
/// (instead of tantivy's 8); see [`SearchIndex::defer_merges`].
pub const BACKLOG_MERGE_SEGMENTS: usize = 32;
/// The most words of one prefix search that snippets mark.
const PREFIX_SNIPPET_WORDS: usize = 64;
/// The fewest documents a merge may produce before it is split (see [`SplitMerges`]).
const MERGE_MIN_CAP: u32 = 50_000;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    datasource: Field,
    name: Field,
    path: Field,
    media: Field,
    modified: Field,
    body: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // The text is indexed, not stored: the database holds it (extracts), and snippets are
    // made from there. Storing it here too compressed and wrote all of it a second time, and
    // again at every segment merge.
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let f = Fields {
        id: b.add_text_field("id", STRING | STORED),
        datasource: b.add_text_field("datasource", STRING | STORED),
        name: b.add_text_field("name", text.clone()),
        path: b.add_text_field("path", STRING | STORED),
        media: b.add_text_field("media", STRING | STORED),
        modified: b.add_date_field(
            "modified",
            DateOptions::default().set_indexed().set_fast().set_stored(),
        ),
        body: b.add_text_field("body", text),
    };
    (b.build(), f)
}

/// Runs `f`, which may block on tantivy (a full indexing queue, a commit waiting for the
/// indexing threads), so that the runtime's other tasks meanwhile move to another worker
/// thread. A runtime with one thread (tests) just runs it.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Tantivy's log merge policy, split into merges of at most a quarter of the index (and at
/// least [`MERGE_MIN_CAP`] documents), and while a backlog is indexed (`backlog`), merging only
/// once [`BACKLOG_MERGE_SEGMENTS`] of a size have piled up.
fn merge_policy(backlog: bool) -> SplitMerges {
    let mut policy = tantivy::indexer::LogMergePolicy::default();
    if backlog {
        policy.set_min_num_segments(BACKLOG_MERGE_SEGMENTS);
    }
    SplitMerges(policy)
}

/// Segments are searched in parallel, one thread each. The log policy merges a whole level of
/// similar segments into one, so an index built by a backlog (dozens of segments of a size)
/// ended as one large segment, and the slowest queries (phrases of common words) ran on one
/// core. Each of its merges is split here into runs of at most a quarter of the index's
/// documents, so the index keeps a few large segments of similar size.
#[derive(Debug)]
struct SplitMerges(tantivy::indexer::LogMergePolicy);

impl tantivy::indexer::MergePolicy for SplitMerges {
    fn compute_merge_candidates(
        &self,
        segments: &[tantivy::SegmentMeta],
    ) -> Vec<tantivy::indexer::MergeCandidate> {
        use tantivy::indexer::MergeCandidate;
        let total: u32 = segments.iter().map(|s| s.num_docs()).sum();
        split_merges(
            self.0
                .compute_merge_candidates(segments)
                .into_iter()
                .map(|c| c.0)
                .collect(),
            |id| {
                segments
                    .iter()
                    .find(|s| s.id() == *id)
                    .map_or(0, |s| s.num_docs())
            },
            (total / 4).max(MERGE_MIN_CAP),
        )
        .into_iter()
        .map(MergeCandidate)
        .collect()
    }
}

/// Splits each merge into consecutive runs of at most `cap` documents (a segment larger than
/// `cap` is a run of its own); runs of one segment are not merges and are dropped.
fn split_merges<Id>(merges: Vec<Vec<Id>>, docs: impl Fn(&Id) -> u32, cap: u32) -> Vec<Vec<Id>> {
    let mut out = Vec::new();
    for merge in merges {
        let mut run = Vec::new();
        let mut sum = 0u32;
        for id in merge {
            let n = docs(&id);
            if !run.is_empty() && sum.saturating_add(n) > cap {
                out.push(std::mem::take(&mut run));
                sum = 0;
            }
            run.push(id);
            sum = sum.saturating_add(n);
        }
        out.push(run);
    }
    out.retain(|run| run.len() >= 2);
    out
}

/// The outbox position recorded with the index's last commit.
fn committed_position(index: &Index) -> i64 {
    index
        .load_metas()
        .ok()
        .and_then(|m| m.payload)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

fn index_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("search index: {e}"))
}

/// Filters of a search, besides the text.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Exact media type, or a family with a trailing `/` (`text/`).
    pub media_type: Option<String>,
    pub modified_after: Option<chrono::DateTime<chrono::Utc>>,
    pub modified_before: Option<chrono::DateTime<chrono::Utc>>,
    pub path_prefix: Option<String>,
}

/// One hit, as the index has it (the caller checks it against the database).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub resource_id: String,
    pub datasource_id: String,
    pub score: f32,
}

/// Makes the snippets of one query's hits from their text.
pub struct Snippets(SnippetGenerator);

impl Snippets {
    /// HTML: the part of `text` around the best match (at most 200 characters), escaped, with
    /// the matches in `<mark>`; empty when `text` has no match (a hit on the name only).
    pub fn html(&self, text: &str) -> String {
        self.0
            .snippet(text)
            .to_html()
            .replace("<b>", "<mark>")
            .replace("</b>", "</mark>")
    }
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    text: TextFields,
    /// Serialises catch-ups (the outbox is applied in order, once).
    applying: tokio::sync::Mutex<()>,
    /// Segment merges wait while a backlog is being indexed (see [`Self::defer_merges`]).
    merges_deferred: std::sync::atomic::AtomicBool,
    /// Merging is on again and no commit has considered the segments since.
    merge_due: std::sync::atomic::AtomicBool,
    /// How far the outbox has been given to the writer: at or after [`Self::applied`], the
    /// position of the last commit (see [`Self::feed`]).
    fed: std::sync::atomic::AtomicI64,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (or recreating it, if its schema is outdated: the
    /// outbox position is then 0 and the caller should [`rebuild`](Self::rebuild)).
    pub fn open(dir: &Path) -> Result<Arc<Self>> {
        std::fs::create_dir_all(dir).map_err(index_err)?;
        let (schema, f) = schema();
        let version_file = dir.join("tributary-schema");
        let current = std::fs::read_to_string(&version_file).unwrap_or_default();
        let index = match Index::open_in_dir(dir) {
            Ok(i) if current.trim() == SCHEMA_VERSION => i,
            _ => {
                for e in std::fs::read_dir(dir).map_err(index_err)?.flatten() {
                    let _ = if e.path().is_dir() {
                        std::fs::remove_dir_all(e.path())
                    } else {
                        std::fs::remove_file(e.path())
                    };
                }
                let i = Index::create_in_dir(dir, schema).map_err(index_err)?;
                std::fs::write(&version_file, SCHEMA_VERSION).map_err(index_err)?;
                i
            }
        };
        Self::from_index(index, f)
    }

    /// An index in memory (tests, tools).
    pub fn in_memory() -> Result<Arc<Self>> {
        let (schema, f) = schema();
        Self::from_index(Index::create_in_ram(schema), f)
    }

    fn from_index(mut index: Index, f: Fields) -> Result<Arc<Self>> {
        // Segments are searched in parallel: a query that must visit every match (a phrase of
        // common words) finishes in about half the time on two cores.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        if threads > 1 {
            index.set_multithread_executor(threads).map_err(index_err)?;
        }
        let writer = index
            .writer_with_num_threads(INDEX_THREADS, WRITER_MEMORY)
            .map_err(|e| {
                index_err(format!(
                    "{e} (is another Tributary using this data directory?)"
                ))
            })?;
        writer.set_merge_policy(Box::new(merge_policy(false)));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(index_err)?;
        let analyzer = index
            .tokenizers()
            .get("default")
            .ok_or_else(|| index_err("no default tokenizer"))?;
        Ok(Arc::new(Self {
            fed: std::sync::atomic::AtomicI64::new(committed_position(&index)),
            index,
            reader,
            writer: Mutex::new(writer),
            text: TextFields {
                body: f.body,
                name: f.name,
                analyzer,
            },
            f,
            applying: tokio::sync::Mutex::new(()),
            merges_deferred: std::sync::atomic::AtomicBool::new(false),
            merge_due: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    pub fn text_fields(&self) -> &TextFields {
        &self.text
    }

    /// How far the outbox has been applied (from the last commit).
    pub fn applied(&self) -> i64 {
        committed_position(&self.index)
    }

    fn doc(&self, d: &IndexDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.f.id, &d.resource_id);
        doc.add_text(self.f.datasource, &d.datasource_id);
        doc.add_text(self.f.name, &d.name);
        doc.add_text(self.f.path, &d.path);
        if let Some(m) = &d.media_type {
            doc.add_text(self.f.media, m);
        }
        if let Some(t) = d.modified {
            doc.add_date(
                self.f.modified,
                DateTime::from_timestamp_micros(t.timestamp_micros()),
            );
        }
        doc.add_text(self.f.body, &d.body);
        doc
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// While a backlog is indexed (`true`), small segments wait to be merged: each commit adds
    /// new ones, and merging eight at a time (the default) was soon rewritten by the next
    /// merge (bulk loads in search engines are run the same way). They still merge once
    /// [`BACKLOG_MERGE_SEGMENTS`] of a size have piled up, so a backlog of hours does not leave
    /// thousands of segments. With `false` the default policy returns, and the next commit
    /// considers the segments accumulated meanwhile, merging them in the background.
    pub fn defer_merges(&self, defer: bool) {
        use std::sync::atomic::Ordering;
        if self.merges_deferred.swap(defer, Ordering::AcqRel) == defer {
            return;
        }
        if !defer {
            self.merge_due.store(true, Ordering::Release);
        }
        self.lock().set_merge_policy(Box::new(merge_policy(defer)));
    }

    /// How many segments the index has (searched in parallel; merged in the background).
    pub fn segments(&self) -> Result<usize> {
        self.reader.reload().map_err(index_err)?;
        Ok(self.reader.searcher().segment_readers().len())
    }

    /// Applies every outbox entry not yet given to the writer, commits with the new position
    /// (the documents given since the last commit become searchable), and prunes what was
    /// committed. Returns how many entries were applied.
    pub async fn catch_up(&self, store: &dyn Store) -> Result<usize> {
        use std::sync::atomic::Ordering;
        let _one = self.applying.lock().await;
        // Taken first: every commit from here on is under the policy that set it.
        let merge_due = self.merge_due.swap(false, Ordering::AcqRel);
        let applied = self.apply_outbox(store, Some(merge_due)).await;
        if applied.is_err() && merge_due {
            // Still due: the next catch-up makes the commit that lets the segments merge.
            self.merge_due.store(true, Ordering::Release);
        }
        applied
    }

    /// Gives the writer every outbox entry not yet given, without committing: its indexing
    /// threads work on them meanwhile, and the next [`catch_up`](Self::catch_up) only commits.
    /// While a backlog is processed, the pipeline feeds the index after every batch and commits
    /// about once a second; committing every batch would end the segments every time. Nothing
    /// fed is searchable (or durable) before that commit; after a crash, the outbox is applied
    /// again from the last commit's position. Returns how many entries were given.
    pub async fn feed(&self, store: &dyn Store) -> Result<usize> {
        let _one = self.applying.lock().await;
        self.apply_outbox(store, None).await
    }

    /// Applies the outbox from [`Self::fed`]; commits unless `commit` is `None`, whose
    /// `Some(true)` asks for a commit even with nothing new (so that segments merge).
    async fn apply_outbox(&self, store: &dyn Store, commit: Option<bool>) -> Result<usize> {
        use std::sync::atomic::Ordering;
        let mut fed = self.fed.load(Ordering::Acquire);
        let (mut n, mut since_commit) = (0, 0);
        loop {
            let entries = store.outbox_after(fed, 2000).await?;
            let Some(last) = entries.last().map(|e| e.seq) else {
                break;
            };
            blocking(|| -> Result<()> {
                let w = self.lock();
                for e in &entries {
                    match (e.op, &e.resource_id) {
                        (crate::domain::OutboxOp::DropDatasource, _) => {
                            w.delete_term(Term::from_field_text(
                                self.f.datasource,
                                &e.datasource_id,
                            ));
                        }
                        (_, Some(id)) => {
                            w.delete_term(Term::from_field_text(self.f.id, id));
                            if let Some(d) = &e.doc {
                                w.add_document(self.doc(d)).map_err(index_err)?;
                            }
                        }
                        _ => {}
                    }
                }
                Ok(())
            })?;
            n += entries.len();
            since_commit += entries.len();
            fed = last;
            self.fed.store(fed, Ordering::Release);
            // One commit per catch-up (each commit ends the writers' segments), or per
            // `COMMIT_EVERY` entries of a long one, so that progress is kept.
            if commit.is_some() && since_commit >= COMMIT_EVERY {
                blocking(|| self.commit(fed))?;
                store.prune_outbox(fed).await?;
                since_commit = 0;
            }
        }
        let Some(merge_due) = commit else {
            return Ok(n);
        };
        if fed > self.applied() {
            blocking(|| self.commit(fed))?;
            store.prune_outbox(fed).await?;
            self.reader.reload().map_err(index_err)?;
        } else if merge_due {
            // A commit is when tantivy considers merges: after a backlog whose last entries an
            // earlier catch-up applied, one with nothing new lets the segments merge.
            self.commit(fed)?;
        }
        Ok(n)
    }

    /// Commits what was given to the writer, recording `position`. If that fails, what was
    /// given since the last commit is given again by the next catch-up (applying an entry
    /// twice replaces the document with itself).
    fn commit(&self, position: i64) -> Result<()> {
        let mut w = self.lock();
        let done = w.prepare_commit().and_then(|mut prepared| {
            prepared.set_payload(&position.to_string());
            prepared.commit()
        });
        if let Err(e) = done {
            self.fed
                .store(self.applied(), std::sync::atomic::Ordering::Release);
            return Err(index_err(e));
        }
        Ok(())
    }

    /// Recreates the index from the database: every processed resource's text. Returns how many
    /// documents it holds.
    pub async fn rebuild(&self, store: &dyn Store) -> Result<usize> {
        let _one = self.applying.lock().await;
        // Everything up to the head is in the database already, so in the rebuilt index too.
        let head = store.outbox_head().await?;
        self.lock().delete_all_documents().map_err(index_err)?;
        let mut after = 0;
        let mut n = 0;
        loop {
            let docs = store.index_docs_after(after, 2000).await?;
            let Some((last, _)) = docs.last() else { break };
            after = *last;
            blocking(|| -> Result<()> {
                let w = self.lock();
                for (_, d) in &docs {
                    w.add_document(self.doc(d)).map_err(index_err)?;
                }
                Ok(())
            })?;
            n += docs.len();
        }
        blocking(|| self.commit(head))?;
        self.fed.store(head, std::sync::atomic::Ordering::Release);
        store.prune_outbox(head).await?;
        self.reader.reload().map_err(index_err)?;
        Ok(n)
    }

    /// Closes the index once its background segment merges are done: what a command that
    /// rebuilt it does before it exits, so that it leaves the index merged rather than in the
    /// many segments it was written in. Refused while the index is still shared.
    pub fn close(self: Arc<Self>) -> Result<()> {
        let me = Arc::try_unwrap(self)
            .map_err(|_| index_err("the search index is still in use elsewhere"))?;
        let writer = me.writer.into_inner().unwrap_or_else(|p| p.into_inner());
        writer.wait_merging_threads().map_err(index_err)
    }

    /// Ranked hits of `text` within `datasources`, after `offset`, at most `limit`, and how many
    /// match in all.
    pub fn search(
        &self,
        text: &query::TextQuery,
        datasources: &[String],
        filters: &Filters,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Hit>, usize)> {
        if datasources.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let searcher = self.reader.searcher();
        let mut restrictions = self.filter_clauses(filters)?;
        if !self.covers_every_document(&searcher, datasources) {
            restrictions.push((Occur::Must, self.datasource_clause(datasources)));
        }
        let top = TopDocs::with_limit(limit.max(1)).and_offset(offset);
        let (top, total) = if restrictions.is_empty() && text.term_union {
            // Ranked by block-max WAND, which skips most of a common word's postings, and
            // counted apart (a union of terms counts from its postings without scoring). Both
            // need the bare union: any other clause would make tantivy score every match.
            let hits = searcher.search(&*text.query, &top).map_err(index_err)?;
            (hits, text.query.count(&searcher).map_err(index_err)?)
        } else if restrictions.is_empty() {
            searcher
                .search(&*text.query, &(top, Count))
                .map_err(index_err)?
        } else {
            restrictions.insert(0, (Occur::Must, text.query.box_clone()));
            let query = BooleanQuery::new(restrictions);
            searcher.search(&query, &(top, Count)).map_err(index_err)?
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(index_err)?;
            let get = |f: Field| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            hits.push(Hit {
                resource_id: get(self.f.id),
                datasource_id: get(self.f.datasource),
                score,
            });
        }
        Ok((hits, total))
    }

    /// The snippet maker of `text`'s matches in the body.
    pub fn snippets(&self, text: &query::TextQuery) -> Result<Snippets> {
        let searcher = self.reader.searcher();
        // The query's own words, and for each prefix the index's words that start with it
        // (tantivy knows no terms of a prefix search): the rarest words weigh most, as tantivy
        // weighs them.
        let mut words: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        text.query.query_terms(&mut |term, _| {
            if let Some(w) = term
                .value()
                .as_str()
                .filter(|_| term.field() == self.f.body)
            {
                words.insert(w.to_owned());
            }
        });
        for stem in &text.prefixes {
            words.extend(self.words_starting_with(&searcher, stem)?);
        }
        let mut weighted = std::collections::BTreeMap::new();
        for w in words {
            let freq = searcher
                .doc_freq(&Term::from_field_text(self.f.body, &w))
                .map_err(index_err)?;
            if freq > 0 {
                weighted.insert(w, 1.0 / (1.0 + freq as f32));
            }
        }
        let tokenizer = self.text.analyzer.clone();
        Ok(Snippets(SnippetGenerator::new(
            weighted,
            tokenizer,
            self.f.body,
            200,
        )))
    }

    /// Up to [`PREFIX_SNIPPET_WORDS`] words of the text starting with `stem`, in byte order.
    fn words_starting_with(
        &self,
        searcher: &tantivy::Searcher,
        stem: &str,
    ) -> Result<std::collections::BTreeSet<String>> {
        let mut out = std::collections::BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.f.body).map_err(index_err)?;
            let mut stream = inverted
                .terms()
                .range()
                .ge(stem.as_bytes())
                .into_stream()
                .map_err(index_err)?;
            while stream.advance() && out.len() < PREFIX_SNIPPET_WORDS {
                let Some(word) = std::str::from_utf8(stream.key())
                    .ok()
                    .filter(|w| w.starts_with(stem))
                else {
                    break;
                };
                out.insert(word.to_owned());
            }
        }
        Ok(out)
    }

    /// Whether every document in the index (deleted ones included) belongs to one of
    /// `datasources`, so that restricting to them would keep everything: each document has
    /// exactly one datasource term, so their document frequencies add up to the whole index.
    fn covers_every_document(&self, searcher: &tantivy::Searcher, datasources: &[String]) -> bool {
        let all: u64 = searcher
            .segment_readers()
            .iter()
            .map(|r| u64::from(r.max_doc()))
            .sum();
        let mut covered = 0u64;
        let distinct: std::collections::BTreeSet<&String> = datasources.iter().collect();
        for d in distinct {
            match searcher.doc_freq(&Term::from_field_text(self.f.datasource, d)) {
                Ok(n) => covered += n,
                Err(_) => return false,
            }
        }
        covered == all
    }

    /// Only documents of `datasources`, without changing scores. One datasource is a posting
    /// list to intersect with; several are a set.
    fn datasource_clause(&self, datasources: &[String]) -> Box<dyn Query> {
        let term = |d: &String| Term::from_field_text(self.f.datasource, d);
        let q: Box<dyn Query> = match datasources {
            [one] => Box::new(TermQuery::new(term(one), IndexRecordOption::Basic)),
            many => Box::new(TermSetQuery::new(many.iter().map(term))),
        };
        Box::new(ConstScoreQuery::new(q, 0.0))
    }

    /// The clauses of the media type, path prefix and modification time filters.
    fn filter_clauses(&self, filters: &Filters) -> Result<Vec<(Occur, Box<dyn Query>)>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(m) = &filters.media_type {
            let q: Box<dyn Query> = if m.ends_with('/') {
                Box::new(
                    RegexQuery::from_pattern(&format!("{}.*", regex_escape(m)), self.f.media)
                        .map_err(index_err)?,
                )
            } else {
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.media, m),
                    IndexRecordOption::Basic,
                ))
            };
            clauses.push((Occur::Must, q));
        }
        if let Some(p) = &filters.path_prefix {
            clauses.push((
                Occur::Must,
                Box::new(
                    RegexQuery::from_pattern(&format!("{}.*", regex_escape(p)), self.f.path)
                        .map_err(index_err)?,
                ),
            ));
        }
        if filters.modified_after.is_some() || filters.modified_before.is_some() {
            use std::ops::Bound;
            let bound = |t: Option<chrono::DateTime<chrono::Utc>>, inclusive: bool| match t {
                Some(t) => {
                    let term = Term::from_field_date(
                        self.f.modified,
                        DateTime::from_timestamp_micros(t.timestamp_micros()),
                    );
                    if inclusive {
                        Bound::Included(term)
                    } else {
                        Bound::Excluded(term)
                    }
                }
                None => Bound::Unbounded,
            };
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(filters.modified_after, true),
                    bound(filters.modified_before, false),
                )),
            ));
        }
        Ok(clauses)
    }

    /// Documents in the index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `s` with the regular-expression syntax escaped (for prefix patterns).
pub(crate) fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_merges;

    #[test]
    fn merges_are_split_into_runs_of_at_most_the_cap() {
        // A level of ten segments of 30 documents, capped at 100: runs of three (90), and the
        // last segment alone is no merge.
        let level: Vec<u32> = (0..10).collect();
        let runs = split_merges(vec![level], |_| 30, 100);
        assert_eq!(runs, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8]]);
        // Under the cap: the merge as it was.
        assert_eq!(
            split_merges(vec![vec![1, 2, 3]], |_| 10, 100),
            vec![vec![1, 2, 3]]
        );
        // A segment over the cap is a run of its own (not merged); the others still are.
        let sizes = |id: &u32| if *id == 0 { 500 } else { 40 };
        assert_eq!(
            split_merges(vec![vec![0, 1, 2], vec![7, 8]], sizes, 100),
            vec![vec![1, 2], vec![7, 8]]
        );
    }
}
