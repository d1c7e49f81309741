//! The search language, parsed into tantivy queries over the extracted text and the name.
//!
//! Simple form: words are all required (`annual report`), `"exact phrase"`, `prefix*` (at
//! least two characters before the star), `-word` / `-"phrase"` to exclude, and `OR` between
//! two parts for either. Onna's advanced form is a JSON tree:
//! `{"and": [{"text_contains": [{"var": "extracted_text"}, "word"]}, ...], "or": [...],
//! "and_not": [...]}`, nestable, where the text is itself in the simple form.
//! Anything malformed is a 422 naming the field.

use serde_json::Value;
use tantivy::Term;
use tantivy::query::{
    BooleanQuery, BoostQuery, EmptyQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use super::regex_escape;
use crate::error::{EngineError, Result};

/// The fields a text query looks in.
#[derive(Clone)]
pub struct TextFields {
    pub body: Field,
    pub name: Field,
    pub analyzer: TextAnalyzer,
}

impl TextFields {
    /// Fields of a schema of their own, with tantivy's default analyzer: for tools and the
    /// fuzz targets, which parse queries without an index.
    pub fn standalone() -> Self {
        let mut b = tantivy::schema::Schema::builder();
        let body = b.add_text_field("body", tantivy::schema::TEXT);
        let name = b.add_text_field("name", tantivy::schema::TEXT);
        let analyzer = tantivy::tokenizer::TokenizerManager::default()
            .get("default")
            .unwrap_or_else(|| TextAnalyzer::from(tantivy::tokenizer::SimpleTokenizer::default()));
        TextFields {
            body,
            name,
            analyzer,
        }
    }
}

/// A parsed text query. `term_union` marks a plain OR of single terms (one word, or words
/// joined by OR): tantivy ranks those top-k without scoring every match (block-max WAND) and
/// counts their matches cheaply, so the index searches them differently.
pub struct TextQuery {
    pub query: Box<dyn Query>,
    pub term_union: bool,
    /// The stems of the prefix searches (`stem*`) a match may have matched in the text, so that
    /// snippets can mark the words they matched (a prefix has no terms of its own).
    pub prefixes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Words(String),
    Phrase(String),
    Prefix(String),
}

/// The most characters a query's text may have.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// The most words, phrases and prefixes a query may have, in all its texts.
pub const MAX_QUERY_PARTS: usize = 64;
/// The most prefix searches (`stem*`) a query may have: each walks the terms dictionary.
pub const MAX_QUERY_PREFIXES: usize = 8;
/// How deeply the advanced form may nest.
pub const MAX_QUERY_DEPTH: usize = 8;

/// Parses the simple form. `field` names the request field in errors.
pub fn parse_simple(text: &str, fields: &TextFields, field: &str) -> Result<TextQuery> {
    let bad = |m: &str| EngineError::invalid(field.to_owned(), m.to_owned());
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(bad(&format!("is longer than {MAX_QUERY_CHARS} characters")));
    }
    // (negated, part) groups; an OR joins the previous group with the next part.
    let mut groups: Vec<(bool, Vec<Part>)> = Vec::new();
    let mut pending_or = false;
    // `a AND b` is `a b`: every word is required anyway.
    let mut pending_and = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let negated = c == '-' && i + 1 < chars.len() && !chars[i + 1].is_whitespace();
        if negated {
            i += 1;
        }
        let part = if chars[i] == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&c| c == '"')
                .ok_or_else(|| bad("has an unclosed quote"))?;
            let phrase: String = chars[i + 1..i + 1 + end].iter().collect();
            i += end + 2;
            if phrase.trim().is_empty() {
                return Err(bad("has an empty phrase"));
            }
            Part::Phrase(phrase)
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word.contains(['(', ')']) {
                return Err(bad(
                    "has a parenthesis: grouping is not supported (every word is required, and \
                     OR takes the word or phrase on either side); quote it to search for it as text",
                ));
            }
            if (word == "OR" || word == "AND") && !negated {
                if pending_or || pending_and {
                    return Err(bad("has AND or OR twice in a row"));
                }
                if groups.is_empty() {
                    return Err(bad(&format!("has {word} without something on its left")));
                }
                if word == "OR" {
                    pending_or = true;
                } else {
                    pending_and = true;
                }
                continue;
            }
            if let Some(stem) = word.strip_suffix('*') {
                if stem.contains('*') || stem.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
                    return Err(bad(
                        "has a prefix search with fewer than 2 letters before the *",
                    ));
                }
                Part::Prefix(stem.to_lowercase())
            } else if word.contains('*') {
                return Err(bad("may use * only at the end of a word"));
            } else {
                Part::Words(word)
            }
        };
        if pending_or {
            let last = groups
                .last_mut()
                .ok_or_else(|| bad("has OR without something on its left"))?;
            if last.0 || negated {
                return Err(bad("cannot combine OR with an excluded (-) part"));
            }
            last.1.push(part);
            pending_or = false;
        } else {
            groups.push((negated, vec![part]));
        }
        pending_and = false;
    }
    if pending_or {
        return Err(bad("ends with OR"));
    }
    if pending_and {
        return Err(bad("ends with AND"));
    }
    if groups.is_empty() {
        return Err(bad("must not be empty"));
    }
    let parts = groups.iter().map(|(_, p)| p.len()).sum::<usize>();
    if parts > MAX_QUERY_PARTS {
        return Err(bad(&format!(
            "has {parts} words, phrases and prefixes; at most {MAX_QUERY_PARTS} are searched"
        )));
    }
    let prefix_count = groups
        .iter()
        .flat_map(|(_, p)| p)
        .filter(|p| matches!(p, Part::Prefix(_)))
        .count();
    if prefix_count > MAX_QUERY_PREFIXES {
        return Err(bad(&format!(
            "has {prefix_count} prefix searches (word*); at most {MAX_QUERY_PREFIXES} are searched"
        )));
    }
    if groups.iter().all(|(neg, _)| *neg) {
        return Err(bad("needs at least one part that is not excluded (-)"));
    }
    // One positive group is the query itself, its alternatives' clauses side by side (no
    // wrapper, which would hide a plain union of terms from tantivy's pruning).
    let prefixes = groups
        .iter()
        .filter(|(negated, _)| !negated)
        .flat_map(|(_, parts)| parts)
        .filter_map(|p| match p {
            Part::Prefix(stem) => Some(stem.clone()),
            _ => None,
        })
        .collect();
    if let [(false, parts)] = groups.as_slice() {
        let term_union = parts.iter().all(|p| single_term(p, fields));
        let clauses = parts.iter().flat_map(|p| part_clauses(p, fields)).collect();
        return Ok(TextQuery {
            query: Box::new(BooleanQuery::new(clauses)),
            term_union,
            prefixes,
        });
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (negated, parts) in groups {
        let alternatives = parts.iter().flat_map(|p| part_clauses(p, fields)).collect();
        clauses.push((
            if negated { Occur::MustNot } else { Occur::Must },
            Box::new(BooleanQuery::new(alternatives)),
        ));
    }
    Ok(TextQuery {
        query: Box::new(BooleanQuery::new(clauses)),
        term_union: false,
        prefixes,
    })
}

/// Whether `p` is one word that the analyzer keeps as exactly one token.
fn single_term(p: &Part, f: &TextFields) -> bool {
    matches!(p, Part::Words(w) if tokens(w, &f.analyzer).len() == 1)
}

/// The tokens of `text` as the index tokenized them.
fn tokens(text: &str, analyzer: &TextAnalyzer) -> Vec<String> {
    let mut a = analyzer.clone();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// One part as alternatives (`Should` clauses): in the body, or (boosted) in the name.
fn part_clauses(p: &Part, f: &TextFields) -> [(Occur, Box<dyn Query>); 2] {
    let in_field = |field: Field| -> Box<dyn Query> {
        match p {
            Part::Words(w) | Part::Phrase(w) => {
                let toks = tokens(w, &f.analyzer);
                match toks.len() {
                    0 => Box::new(EmptyQuery),
                    1 => Box::new(TermQuery::new(
                        Term::from_field_text(field, &toks[0]),
                        IndexRecordOption::WithFreqsAndPositions,
                    )),
                    _ => Box::new(PhraseQuery::new(
                        toks.iter()
                            .map(|t| Term::from_field_text(field, t))
                            .collect(),
                    )),
                }
            }
            Part::Prefix(stem) => {
                let pattern = format!("{}.*", regex_escape(stem));
                match RegexQuery::from_pattern(&pattern, field) {
                    Ok(q) => Box::new(q),
                    Err(_) => Box::new(EmptyQuery),
                }
            }
        }
    };
    [
        (Occur::Should, in_field(f.body)),
        (
            Occur::Should,
            Box::new(BoostQuery::new(in_field(f.name), 2.0)),
        ),
    ]
}

/// Parses Onna's advanced form (the value of `"advanced"`), within the limits on size.
pub fn parse_advanced(v: &Value, fields: &TextFields, path: &str) -> Result<TextQuery> {
    let (mut texts, mut prefixes) = (0, 0);
    count_advanced(v, path, 0, &mut texts, &mut prefixes)?;
    parse_advanced_within(v, fields, path)
}

/// Checks the advanced form's depth, and its parts and prefixes in all its texts, before any
/// of it is parsed (a large tree costs nothing but this walk).
fn count_advanced(
    v: &Value,
    path: &str,
    depth: usize,
    parts: &mut usize,
    prefixes: &mut usize,
) -> Result<()> {
    if depth > MAX_QUERY_DEPTH {
        return Err(EngineError::invalid(
            path.to_owned(),
            format!("nests deeper than {MAX_QUERY_DEPTH} levels"),
        ));
    }
    match v {
        Value::Array(items) => {
            for item in items {
                count_advanced(item, path, depth + 1, parts, prefixes)?;
            }
        }
        Value::Object(obj) => {
            for item in obj.values() {
                count_advanced(item, path, depth + 1, parts, prefixes)?;
            }
        }
        Value::String(s) => {
            *parts += s.split_whitespace().count().max(1);
            *prefixes += s.split_whitespace().filter(|w| w.ends_with('*')).count();
        }
        _ => {}
    }
    if *parts > MAX_QUERY_PARTS {
        return Err(EngineError::invalid(
            path.to_owned(),
            format!("has more than {MAX_QUERY_PARTS} words, phrases and prefixes in all"),
        ));
    }
    if *prefixes > MAX_QUERY_PREFIXES {
        return Err(EngineError::invalid(
            path.to_owned(),
            format!("has more than {MAX_QUERY_PREFIXES} prefix searches (word*) in all"),
        ));
    }
    Ok(())
}

fn parse_advanced_within(v: &Value, fields: &TextFields, path: &str) -> Result<TextQuery> {
    let obj = v.as_object().ok_or_else(|| {
        EngineError::invalid(
            path.to_owned(),
            "must be an object with and, or, and_not or text_contains",
        )
    })?;
    if let Some(args) = obj.get("text_contains") {
        let arr = args.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
            EngineError::invalid(
                format!("{path}.text_contains"),
                "must be [{\"var\": \"extracted_text\"}, \"text\"]",
            )
        })?;
        let var = arr[0]
            .get("var")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (field_fields, in_text) = match var {
            "extracted_text" | "text" | "" => (fields.clone(), true),
            "title" | "name" => (
                TextFields {
                    body: fields.name,
                    ..fields.clone()
                },
                false,
            ),
            other => {
                return Err(EngineError::invalid(
                    format!("{path}.text_contains"),
                    format!("var '{other}' is not searchable; use extracted_text or title"),
                ));
            }
        };
        let text = arr[1].as_str().ok_or_else(|| {
            EngineError::invalid(
                format!("{path}.text_contains"),
                "the second item must be text",
            )
        })?;
        let mut parsed = parse_simple(text, &field_fields, &format!("{path}.text_contains"))?;
        if !in_text {
            parsed.prefixes.clear();
        }
        parsed.term_union = false;
        return Ok(parsed);
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut prefixes = Vec::new();
    let mut positive = false;
    for (key, occur) in [
        ("and", Occur::Must),
        ("or", Occur::Should),
        ("and_not", Occur::MustNot),
    ] {
        let Some(list) = obj.get(key) else { continue };
        let items = list.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
            EngineError::invalid(format!("{path}.{key}"), "must be a non-empty list")
        })?;
        let qs = items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_advanced_within(item, fields, &format!("{path}.{key}[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        if occur != Occur::MustNot {
            prefixes.extend(qs.iter().flat_map(|q| q.prefixes.iter().cloned()));
        }
        let qs = qs.into_iter().map(|q| q.query);
        match occur {
            // `or` is one required clause: any of its items.
            Occur::Should => {
                positive = true;
                clauses.push((
                    Occur::Must,
                    Box::new(BooleanQuery::new(
                        qs.into_iter().map(|q| (Occur::Should, q)).collect(),
                    )),
                ));
            }
            o => {
                positive |= o == Occur::Must;
                clauses.extend(qs.into_iter().map(|q| (o, q)));
            }
        }
    }
    if let Some(k) = obj
        .keys()
        .find(|k| !["and", "or", "and_not", "text_contains"].contains(&k.as_str()))
    {
        return Err(EngineError::invalid(
            format!("{path}.{k}"),
            "is not an operator; use and, or, and_not or text_contains",
        ));
    }
    if !positive {
        return Err(EngineError::invalid(
            path.to_owned(),
            "needs and or or (and_not alone matches nothing)",
        ));
    }
    Ok(TextQuery {
        query: Box::new(BooleanQuery::new(clauses)),
        term_union: false,
        prefixes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{Schema, TEXT};
    use tantivy::tokenizer::TokenizerManager;

    fn fields() -> TextFields {
        let mut b = Schema::builder();
        let body = b.add_text_field("body", TEXT);
        let name = b.add_text_field("name", TEXT);
        let analyzer = TokenizerManager::default().get("default").unwrap();
        TextFields {
            body,
            name,
            analyzer,
        }
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        let f = fields();
        for (q, why) in [
            ("", "must not be empty"),
            ("\"open", "unclosed quote"),
            ("a*", "fewer than 2 letters"),
            ("*", "fewer than 2 letters"),
            ("ab*cd", "only at the end"),
            ("OR x", "OR without"),
            ("x OR", "ends with OR"),
            ("-x", "not excluded"),
            ("\"\"", "empty phrase"),
            ("AND x", "AND without"),
            ("x AND", "ends with AND"),
            ("x AND OR y", "twice in a row"),
            ("x OR AND y", "twice in a row"),
            ("(a OR b) c", "parenthesis"),
            ("a (b", "parenthesis"),
            ("f(x)", "parenthesis"),
        ] {
            let e = parse_simple(q, &f, "query")
                .err()
                .unwrap_or_else(|| panic!("{q} parsed"));
            assert_eq!(e.status_code(), 422, "{q}");
            assert!(e.to_string().contains(why), "{q}: {e}");
        }
        for ok in [
            "report",
            "\"annual report\" 2024",
            "rep* -draft",
            "cat OR dog fish",
            "cat AND dog",
            "\"f(x) (draft)\"",
            "-draft AND report",
            "and or",
        ] {
            assert!(parse_simple(ok, &f, "query").is_ok(), "{ok}");
        }
        // AND adds nothing to what the words already require.
        let words = |q: &str| format!("{:?}", parse_simple(q, &f, "query").unwrap().query);
        assert_eq!(words("cat AND dog"), words("cat dog"));
        assert_eq!(words("cat AND dog OR fish"), words("cat dog OR fish"));
    }

    #[test]
    fn queries_are_bounded_before_any_work() {
        let f = fields();
        let huge = "ab* ".repeat(250_000);
        let e = parse_simple(&huge, &f, "query").err().unwrap();
        assert_eq!(e.status_code(), 422);
        assert!(e.to_string().contains("longer than"), "{e}");
        let many = (0..65)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(parse_simple(&many, &f, "query").is_err());
        let prefixes = (0..9)
            .map(|i| format!("p{i}x*"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(parse_simple(&prefixes, &f, "query").is_err());
        let ok = (0..8)
            .map(|i| format!("p{i}x*"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(parse_simple(&ok, &f, "query").is_ok());
        let mut deep = serde_json::json!({"text_contains": [{"var": "extracted_text"}, "x"]});
        for _ in 0..10 {
            deep = serde_json::json!({ "and": [deep] });
        }
        assert!(parse_advanced(&deep, &f, "advanced").is_err());
        let wide: Vec<_> = (0..70)
            .map(|i| serde_json::json!({"text_contains": [{"var": "extracted_text"}, format!("w{i}")]}))
            .collect();
        let e = parse_advanced(&serde_json::json!({ "or": wide }), &f, "advanced")
            .err()
            .unwrap();
        assert_eq!(e.status_code(), 422, "{e}");
    }

    #[test]
    fn advanced_form_is_checked() {
        let f = fields();
        let ok = serde_json::json!({"and": [{"text_contains": [{"var": "extracted_text"}, "word"]}],
                                     "and_not": [{"text_contains": [{"var": "extracted_text"}, "other"]}]});
        assert!(parse_advanced(&ok, &f, "advanced").is_ok());
        for bad in [
            serde_json::json!({"and_not": [{"text_contains": [{"var": "extracted_text"}, "x"]}]}),
            serde_json::json!({"nand": []}),
            serde_json::json!({"and": []}),
            serde_json::json!({"and": [{"text_contains": [{"var": "secret"}, "x"]}]}),
            serde_json::json!([1]),
        ] {
            let e = parse_advanced(&bad, &f, "advanced")
                .err()
                .unwrap_or_else(|| panic!("{bad} parsed"));
            assert_eq!(e.status_code(), 422, "{bad}");
        }
    }
}
