//! `/datasources`: every datasource the user has. Counts per status at the top (each a filter),
//! filters by status, kind, sync type and title, sorting, cursor paging, and bulk *Sync now*,
//! *Pause* and *Resume* with a result per datasource. The filters live in the address, so a
//! filtered list can be bookmarked and works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{BulkForm, get_connectors, list_datasources};
use crate::components::badge::StatusBadge;
use crate::components::notice::ErrorNotice;
use crate::flash::flashed_from;
use crate::pages::search::urlencode;
use crate::types::{BulkResult, DatasourceView, SORTS, STATUSES, SYNC_TYPES, format_bytes, said};

const PAGE_SIZE: i64 = 20;

/// Where the bulk form posts without JavaScript.
const BULK_FORM_PATH: &str = <BulkForm as leptos::server_fn::ServerFn>::PATH;

/// The listing's parameters, as in the address.
const PARAMS: [&str; 5] = ["status", "kind", "type_sync", "q", "sort"];

#[derive(Debug, Clone, PartialEq, Default)]
struct ListParams {
    values: [Option<String>; 5],
    scroll: Option<String>,
}

impl ListParams {
    fn get(&self, name: &str) -> Option<&str> {
        PARAMS
            .iter()
            .position(|p| *p == name)
            .and_then(|i| self.values[i].as_deref())
    }

    fn is_filtered(&self) -> bool {
        ["status", "kind", "type_sync", "q"]
            .iter()
            .any(|p| self.get(p).is_some())
    }

    /// The address of this listing with `name` set to `value` (or removed), from its first page.
    fn href_with(&self, name: &str, value: Option<&str>) -> String {
        let pairs: Vec<String> = PARAMS
            .iter()
            .zip(self.values.iter())
            .filter_map(|(p, v)| {
                let v = if *p == name { value } else { v.as_deref() };
                v.map(|v| format!("{p}={}", urlencode(v)))
            })
            .collect();
        if pairs.is_empty() {
            "/datasources".into()
        } else {
            format!("/datasources?{}", pairs.join("&"))
        }
    }

    /// The next page of this listing.
    fn href_next(&self, cursor: &str) -> String {
        let base = self.href_with("", None);
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}scroll={}", urlencode(cursor))
    }
}

#[component]
pub fn DatasourceList() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        let non_empty = |n: &str| q.get(n).filter(|v| !v.trim().is_empty());
        ListParams {
            values: PARAMS.map(non_empty),
            scroll: non_empty("scroll"),
        }
    });
    let page = Resource::new(
        move || params.get(),
        |p| {
            let v = |n: &str| p.get(n).map(str::to_owned);
            list_datasources(
                Some(PAGE_SIZE),
                p.scroll.clone(),
                v("status"),
                v("kind"),
                v("type_sync"),
                v("q"),
                v("sort"),
            )
        },
    );
    let bulk_results = flashed_from::<BulkForm>().and_then(|f| f.bulk.map(|b| (b, f.bulk_cut)));

    view! {
        <Title text="Datasources" />
        <div class="mb-6 flex flex-wrap items-center gap-4">
            <h1 class="text-2xl font-semibold">"Datasources"</h1>
            <button
                type="button"
                class="btn-secondary js-only"
                aria-expanded="false"
                aria-controls="status-legend"
                data-toggle="status-legend"
                data-label-open="Hide status legend"
                data-label-closed="What do the statuses mean?"
            >
                "What do the statuses mean?"
            </button>
            <a href="/datasources/new" class="btn-primary ml-auto">"New datasource"</a>
        </div>
        <section id="status-legend" class="card mb-4" aria-label="Status legend" hidden>
            <dl class="grid gap-2 sm:grid-cols-2">
                {STATUSES.iter().map(|(s, m)| view! {
                    <div class="flex items-center gap-2">
                        <dt><StatusBadge status=s.to_string() /></dt>
                        <dd class="text-sm text-slate-600 dark:text-slate-300">{*m}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
        {move || view! { <Filters params=params.get() /> }}
        <Transition fallback=|| view! {
            <div class="skeleton h-48" aria-busy="true" role="status">
                <span class="spinner mr-2" aria-hidden="true"></span>"Loading datasources…"
            </div>
        }>
            {move || Suspend::new(async move {
                let p = params.get_untracked();
                match page.await {
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    Ok(l) => {
                        let busy = l.items.iter().any(|d| d.is_busy());
                        let everything: i64 = l.counts.iter().map(|(_, n)| n).sum();
                        let body = if l.total == 0 && !p.is_filtered() {
                            view! { <EmptyState /> }.into_any()
                        } else if l.total == 0 {
                            view! {
                                <section class="card text-center" data-testid="no-match">
                                    <h2 class="text-lg font-semibold">"No datasource matches these filters"</h2>
                                    <p class="mt-2 text-slate-600 dark:text-slate-300">"Try another status or a shorter text, or show them all."</p>
                                    <a class="btn-secondary mt-4" href="/datasources">"Clear filters"</a>
                                </section>
                            }.into_any()
                        } else {
                            let showing = format!(
                                "{} datasource{}{}",
                                l.total,
                                if l.total == 1 { "" } else { "s" },
                                if p.is_filtered() { " match" } else { "" }
                            );
                            view! {
                                <p class="mb-2 text-sm text-slate-600 dark:text-slate-400" data-testid="total">{showing}</p>
                                // A plain form: the buttons post the checked rows, and the results
                                // come back flashed below the list.
                                <form method="post" action=BULK_FORM_PATH data-selection="">
                                    <BulkBar />
                                    <DatasourceTable items=l.items />
                                </form>
                                <nav class="mt-4 flex gap-3" aria-label="Pages">
                                    {p.scroll.is_some().then(|| view! {
                                        <a class="btn-secondary" href=p.href_with("", None)>"First page"</a>
                                    })}
                                    {l.cursor.as_deref().map(|c| view! {
                                        <a class="btn-secondary" href=p.href_next(c)>"Next page"</a>
                                    })}
                                </nav>
                            }.into_any()
                        };
                        // Both follow live updates (the page's script refetches the page and
                        // swaps them, keeping the checked rows); `data-busy`: a sync is under
                        // way, so the page polls while the live stream is down.
                        view! {
                            <StatusCounts counts=l.counts everything params=p />
                            <div id="list-body" data-live="*" data-busy=busy.then_some("")>{body}</div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        {bulk_results.map(|((action, items), cut)| view! { <BulkResultList action items cut /> })}
    }
}

/// The number of datasources in each status, each a link that filters by it.
#[component]
fn StatusCounts(counts: Vec<(String, i64)>, everything: i64, params: ListParams) -> impl IntoView {
    let current = params.get("status").map(str::to_owned);
    let all_current = current.is_none();
    view! {
        <nav id="list-counts" data-live="*" class="mb-4 flex flex-wrap gap-2" aria-label="Datasources by status" data-testid="status-counts">
            <a class="chip" href=params.href_with("status", None) aria-current=all_current.to_string()>
                "All"<span class="tabular-nums text-slate-500 dark:text-slate-400">{everything}</span>
            </a>
            {counts.into_iter()
                .filter(|(s, n)| *n > 0 || current.as_deref() == Some(s.as_str()))
                .map(|(s, n)| {
                    let is_current = current.as_deref() == Some(s.as_str());
                    view! {
                        <a
                            class="chip"
                            href=params.href_with("status", Some(&s))
                            aria-current=is_current.to_string()
                            data-status-count=s.clone()
                        >
                            <StatusBadge status=s.clone() />
                            <span class="tabular-nums">{n}</span>
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// The filter form: a plain GET form, so it works without JavaScript; with it, the page's
/// script fetches the filtered list without a reload, and a changed select applies at once.
#[component]
fn Filters(params: ListParams) -> impl IntoView {
    let option = |value: &str, label: &str, current: Option<&str>| {
        let selected = current == Some(value) || (value.is_empty() && current.is_none());
        view! { <option value=value.to_owned() selected=selected>{label.to_owned()}</option> }
    };
    let select = |current: Option<&str>, any: Option<&str>, choices: Vec<(&str, String)>| {
        any.map(|a| option("", a, current))
            .into_iter()
            .chain(choices.into_iter().map(|(v, l)| option(v, &l, current)))
            .collect_view()
    };
    let statuses = select(
        params.get("status"),
        Some("Any status"),
        STATUSES.iter().map(|(s, _)| (*s, s.to_string())).collect(),
    );
    let current_kind = params.get("kind").map(str::to_owned);
    let connectors = Resource::new(|| (), |_| get_connectors(false));
    // The kinds come from the connector registry; until they are here (or if they cannot be
    // read), the current filter stays selectable.
    let kinds = move || {
        let current = current_kind.clone();
        Suspend::new(async move {
            let all = connectors.await.unwrap_or_default();
            let mut choices: Vec<(String, String)> =
                all.into_iter().map(|c| (c.kind, c.label)).collect();
            if let Some(k) = current.as_deref()
                && !choices.iter().any(|(v, _)| v == k)
            {
                choices.push((k.to_owned(), k.to_owned()));
            }
            let any = current.is_none();
            view! {
                <option value="" selected=any>"Any kind"</option>
                {choices.into_iter().map(|(v, l)| {
                    let selected = current.as_deref() == Some(v.as_str());
                    view! { <option value=v selected=selected>{l}</option> }
                }).collect_view()}
            }
        })
    };
    let sync_types = select(
        params.get("type_sync"),
        Some("Any sync type"),
        SYNC_TYPES
            .iter()
            .map(|(v, l, _)| (*v, format!("{l} ({v})")))
            .collect(),
    );
    let sorts = select(
        params.get("sort").or(Some("oldest")),
        None,
        SORTS.iter().map(|(v, l)| (*v, l.to_string())).collect(),
    );
    let text = params.get("q").unwrap_or_default().to_owned();
    let clear = params.is_filtered().then(|| {
        view! { <a class="link py-2 text-sm" href="/datasources">"Clear filters"</a> }
    });
    view! {
        <form method="get" action="/datasources" class="card mb-4 flex flex-wrap items-end gap-3 p-4" aria-label="Filter and sort datasources">
            <div class="min-w-48 flex-1">
                <label for="filter-q" class="label">"Title contains"</label>
                <input id="filter-q" name="q" type="search" class="input" placeholder="e.g. invoices"
                    value=text maxlength="200" />
            </div>
            <div>
                <label for="filter-status" class="label">"Status"</label>
                <select id="filter-status" name="status" class="select" data-autosubmit="">{statuses}</select>
            </div>
            <div>
                <label for="filter-kind" class="label">"Kind"</label>
                <select id="filter-kind" name="kind" class="select" data-autosubmit=""><Suspense>{kinds}</Suspense></select>
            </div>
            <div>
                <label for="filter-type-sync" class="label">"Sync type"</label>
                <select id="filter-type-sync" name="type_sync" class="select" data-autosubmit="">{sync_types}</select>
            </div>
            <div>
                <label for="filter-sort" class="label">"Sort"</label>
                <select id="filter-sort" name="sort" class="select" data-autosubmit="">{sorts}</select>
            </div>
            <button type="submit" class="btn-primary">"Apply"</button>
            {clear}
        </form>
    }
}

/// The bulk actions for the checked rows. The script keeps the count and refuses to post an
/// empty selection (the server refuses it too, for a page without JavaScript).
#[component]
fn BulkBar() -> impl IntoView {
    let button = move |action: &'static str, label: &'static str| {
        view! {
            <button
                type="submit"
                id=format!("bulk-{action}")
                name="action"
                value=action
                class="btn-secondary"
                data-needs-selection=said::SELECT_FIRST
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="mb-2 flex flex-wrap items-center gap-2" role="toolbar" aria-label="Bulk actions" data-testid="bulk-bar">
            <span
                class="text-sm text-slate-600 dark:text-slate-400"
                aria-live="polite"
                data-selected-count=""
                data-none="Select datasources to sync, pause or resume them together."
            >
                "Select datasources to sync, pause or resume them together."
            </span>
            {button("sync", "Sync now")}
            {button("pause", "Pause")}
            {button("resume", "Resume")}
        </div>
    }
}

/// A bulk action's result per datasource, below the list (flashed by the server).
#[component]
pub fn BulkResultList(
    action: String,
    items: Vec<BulkResult>,
    /// Results left out of the page (too many to carry; each datasource's page has its status).
    cut: usize,
) -> impl IntoView {
    view! {
        <section class="card mt-4 p-4" aria-label="Results of the bulk action" data-testid="bulk-results" data-dismissable="">
            <div class="mb-2 flex items-center">
                <h2 class="font-semibold">{format!("Results of “{action}”")}</h2>
                <button type="button" class="btn-secondary js-only ml-auto" data-dismiss="">"Dismiss"</button>
            </div>
            <ul class="space-y-1 text-sm">
                {items.into_iter().map(|r| view! {
                    <li data-ok=r.ok.to_string() data-testid="bulk-result">
                        <span aria-hidden="true" class=if r.ok { "text-green-700 dark:text-green-400" } else { "text-red-700 dark:text-red-400" }>
                            {if r.ok { "✓ " } else { "✕ " }}
                        </span>
                        <span class="sr-only">{if r.ok { "Done: " } else { "Refused: " }}</span>
                        <a class="link font-medium" href=format!("/datasources/{}", r.id)>{r.title}</a>
                        " — "{r.message}
                    </li>
                }).collect_view()}
            </ul>
            {(cut > 0).then(|| view! {
                <p class="hint mt-2">{format!("…and {cut} more, not listed here; each datasource's page shows its status.")}</p>
            })}
        </section>
    }
}

#[component]
fn DatasourceTable(items: Vec<DatasourceView>) -> impl IntoView {
    let none_selectable = !items.iter().any(|d| d.can_operate);
    view! {
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
            <table class="table">
                <caption class="sr-only">"Datasources"</caption>
                <thead>
                    <tr>
                        <th scope="col" class="w-8">
                            <input
                                type="checkbox"
                                class="js-only"
                                aria-label="Select every datasource on this page"
                                data-select-all=""
                                disabled=none_selectable
                            />
                        </th>
                        <th scope="col">"Title"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Sync type"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="text-right">"Resources"</th>
                        <th scope="col" class="text-right">"Size"</th>
                        <th scope="col">"Last synced"</th>
                    </tr>
                </thead>
                <tbody>
                    {items.into_iter().enumerate().map(|(i, d)| {
                        let sync_label = SYNC_TYPES.iter().find(|(v, _, _)| *v == d.type_sync).map(|(_, l, _)| *l).unwrap_or("");
                        let select_label = format!("Select {}", d.title);
                        let last = d.last_synced_ago.clone();
                        let last_abs = d.last_sync_finished_at.clone().unwrap_or_default();
                        view! {
                            <tr data-testid="datasource-row" data-id=d.id.clone()>
                                <td>
                                    <input
                                        type="checkbox"
                                        name=format!("ids[{i}]")
                                        value=d.id.clone()
                                        aria-label=select_label
                                        data-select-row=""
                                        disabled=!d.can_operate
                                        title=(!d.can_operate).then_some("Your role does not allow syncing this datasource")
                                    />
                                </td>
                                <td><a class="link font-medium" href=format!("/datasources/{}", d.id)>{d.title.clone()}</a></td>
                                <td>{d.kind_label.clone()}</td>
                                <td><code>{d.type_sync.clone()}</code>" "<span class="text-slate-500 dark:text-slate-400">{sync_label}</span></td>
                                <td><StatusBadge status=d.sync_status.clone() reason=d.status_reason.clone().unwrap_or_default() /></td>
                                <td class="text-right tabular-nums">{d.resource_count}</td>
                                <td class="text-right tabular-nums">{format_bytes(d.byte_count)}</td>
                                <td>
                                    {match last {
                                        Some(ago) => view! { <time datetime=last_abs.clone() title=last_abs>{ago}</time> }.into_any(),
                                        None => view! { <span class="text-slate-500 dark:text-slate-400">"never"</span> }.into_any(),
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn EmptyState() -> impl IntoView {
    view! {
        <section class="card text-center" data-testid="empty-state">
            <h2 class="text-lg font-semibold">"No datasources yet"</h2>
            <p class="mx-auto mt-2 max-w-md text-slate-600 dark:text-slate-300">
                "A datasource is a place your data lives — a folder, an S3 bucket, a Dropbox or a Slack workspace. "
                "Add one and Tributary collects it into one searchable store."
            </p>
            <a href="/datasources/new" class="btn-primary mt-4 inline-block">"Add your first datasource"</a>
        </section>
    }
}
