//! Search: the global page (`/search`, everything I have a role on) and the panel a
//! datasource's *Search* tab shows. Plain GET forms, so searching works without JavaScript and
//! every result page has its own URL.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::search;
use crate::components::notice::ErrorNotice;
use crate::types::{SearchHitView, format_bytes};

/// Media types offered as a filter: (value, label).
const MEDIA_FILTERS: &[(&str, &str)] = &[
    ("", "Any type"),
    ("text/", "Text, Markdown, HTML, CSV"),
    ("application/pdf", "PDF"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word (docx)",
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel (xlsx)",
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "PowerPoint (pptx)",
    ),
    (
        "application/vnd.oasis.opendocument.text",
        "OpenDocument text (odt)",
    ),
    (
        "application/vnd.oasis.opendocument.spreadsheet",
        "OpenDocument spreadsheet (ods)",
    ),
    (
        "application/vnd.oasis.opendocument.presentation",
        "OpenDocument presentation (odp)",
    ),
    ("message/rfc822", "E-mail"),
    ("application/json", "JSON"),
];

#[component]
pub fn SearchPage() -> impl IntoView {
    view! {
        <Title text="Search" />
        <h1 class="mb-4 text-2xl font-semibold">"Search"</h1>
        <p class="mb-4 text-sm text-slate-600 dark:text-slate-400">
            "Searches the text of everything collected in the datasources you have a role on."
        </p>
        <SearchPanel action="/search".into() datasource=None />
    }
}

/// The form and the hits. `action` is where the form submits (this page's path);
/// `datasource` limits the search to one.
#[component]
pub fn SearchPanel(action: String, datasource: Option<String>) -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.read().get(k).unwrap_or_default();
    let scope = StoredValue::new(datasource.clone());
    let results = Resource::new(
        move || {
            (
                param("q"),
                param("media_type"),
                param("path_prefix"),
                param("after"),
                param("before"),
                param("scroll"),
            )
        },
        move |(q, media, prefix, after, before, scroll)| async move {
            if q.trim().is_empty() {
                return Ok(None);
            }
            search(
                scope.get_value(),
                q,
                Some(media),
                Some(prefix),
                Some(after),
                Some(before),
                Some(scroll),
            )
            .await
            .map(Some)
        },
    );
    let on_tab = datasource.is_some();
    let base = action.clone();
    view! {
        <form method="get" action=action role="search" class="card mb-6 space-y-4" aria-label="Search collected text">
            {on_tab.then(|| view! { <input type="hidden" name="tab" value="search" /> })}
            <div class="flex flex-wrap items-end gap-3">
                <div class="min-w-64 flex-1">
                    <label for="q" class="label">"Search for"</label>
                    <input id="q" name="q" type="search" class="input" value=move || param("q")
                        placeholder="words, \"a phrase\", prefix*, -exclude" aria-describedby="q-hint" />
                </div>
                <button type="submit" class="btn-primary">"Search"</button>
            </div>
            <p id="q-hint" class="hint">
                "All words must appear. Use quotes for a phrase, a * at the end of a word for its prefix, - to exclude a word, OR between alternatives."
            </p>
            <details class="text-sm" open=move || !param("media_type").is_empty() || !param("path_prefix").is_empty() || !param("after").is_empty() || !param("before").is_empty()>
                <summary class="cursor-pointer font-medium">"Filters"</summary>
                <div class="mt-3 grid gap-3 sm:grid-cols-2">
                    <div>
                        <label for="media_type" class="label">"Type"</label>
                        <select id="media_type" name="media_type" class="input">
                            {MEDIA_FILTERS.iter().map(|(v, l)| view! {
                                <option value=*v selected=move || param("media_type") == *v>{*l}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div>
                        <label for="path_prefix" class="label">"Path starts with"</label>
                        <input id="path_prefix" name="path_prefix" class="input" placeholder="/reports/" value=move || param("path_prefix") />
                    </div>
                    <div>
                        <label for="after" class="label">"Modified on or after"</label>
                        <input id="after" name="after" type="date" class="input" value=move || param("after") />
                    </div>
                    <div>
                        <label for="before" class="label">"Modified before"</label>
                        <input id="before" name="before" type="date" class="input" value=move || param("before") />
                    </div>
                </div>
            </details>
        </form>
        <Transition fallback=|| view! { <div class="skeleton h-32" aria-busy="true">"Searching…"</div> }>
            {move || {
                let base = base.clone();
                Suspend::new(async move {
                    match results.await {
                        Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                        Ok(None) => view! {
                            <p class="text-slate-600 dark:text-slate-400" data-testid="search-idle">"Type what you are looking for above."</p>
                        }.into_any(),
                        Ok(Some(page)) if page.items.is_empty() && page.total == 0 => view! {
                            <section class="card text-center" data-testid="no-hits">
                                <h2 class="font-semibold">"Nothing found"</h2>
                                <p class="mt-1 text-slate-600 dark:text-slate-300">
                                    "No collected text matches. Try fewer words, a prefix like report*, or other filters. Files are searchable once processed."
                                </p>
                            </section>
                        }.into_any(),
                        Ok(Some(page)) => {
                            let next = page.cursor.clone().map(|c| {
                                let q = query.read();
                                let mut parts: Vec<String> = ["tab", "q", "media_type", "path_prefix", "after", "before"]
                                    .iter()
                                    .filter_map(|k| q.get(k).map(|v| format!("{k}={}", urlencode(&v))))
                                    .collect();
                                parts.push(format!("scroll={}", urlencode(&c)));
                                format!("{base}?{}", parts.join("&"))
                            });
                            let total = page.total;
                            view! {
                                <p class="mb-2 text-sm text-slate-600 dark:text-slate-400" data-testid="hit-total" aria-live="polite">
                                    {format!("{total} match{}", if total == 1 { "" } else { "es" })}
                                </p>
                                <ol class="space-y-3">
                                    {page.items.into_iter().map(|h| view! { <HitRow h /> }).collect_view()}
                                </ol>
                                {next.map(|href| view! {
                                    <nav class="mt-4" aria-label="More results"><a class="btn-secondary" href=href>"More results"</a></nav>
                                })}
                            }.into_any()
                        }
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn HitRow(h: SearchHitView) -> impl IntoView {
    let href = format!(
        "/datasources/{}/resources/{}",
        h.datasource_id, h.resource.id
    );
    view! {
        <li class="card" data-testid="hit">
            <div class="flex flex-wrap items-baseline gap-x-3">
                <a class="link font-medium" href=href>{h.resource.name.clone()}</a>
                <span class="text-sm text-slate-500 dark:text-slate-400 break-all">{h.resource.path.clone()}</span>
                <span class="ml-auto text-xs text-slate-500 dark:text-slate-400">
                    {h.resource.media_type.clone().unwrap_or_default()}" · "{format_bytes(h.resource.size)}
                </span>
            </div>
            // The snippet is HTML the server built: the text escaped, the matches in <mark>.
            <p class="snippet mt-2 text-sm text-slate-700 dark:text-slate-300" data-testid="snippet" inner_html=h.snippet></p>
        </li>
    }
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
