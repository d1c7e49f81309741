//! `/datasources`: every datasource the user has, cursor-paged, with a status legend and a
//! quick filter.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::list_datasources;
use crate::components::badge::StatusBadge;
use crate::components::live::use_live_tick;
use crate::components::notice::ErrorNotice;
use crate::types::{DatasourceView, STATUSES, SYNC_TYPES, format_bytes};

const PAGE_SIZE: i64 = 20;

#[component]
pub fn DatasourceList() -> impl IntoView {
    let query = use_query_map();
    let scroll = move || query.read().get("scroll");
    // Any change to a datasource I can see may change this page: badges move live.
    let busy = RwSignal::new(false);
    let live = use_live_tick(|_| true, move || busy.get_untracked());
    let page = Resource::new(
        move || (scroll(), live.get()),
        |(s, _)| list_datasources(Some(PAGE_SIZE), s),
    );
    let filter = RwSignal::new(String::new());
    let legend_open = RwSignal::new(false);

    view! {
        <Title text="Datasources" />
        <div class="mb-6 flex flex-wrap items-center gap-4">
            <h1 class="text-2xl font-semibold">"Datasources"</h1>
            <a href="/datasources/new" class="btn-primary ml-auto">"New datasource"</a>
        </div>
        <div class="mb-4 flex flex-wrap items-center gap-3">
            <label for="filter" class="sr-only">"Filter this page by title"</label>
            <input
                id="filter"
                type="search"
                class="input max-w-xs"
                placeholder="Filter by title"
                prop:value=move || filter.get()
                on:input=move |ev| filter.set(event_target_value(&ev))
            />
            <button
                type="button"
                class="btn-secondary"
                aria-expanded=move || legend_open.get().to_string()
                aria-controls="status-legend"
                on:click=move |_| legend_open.update(|o| *o = !*o)
            >
                {move || if legend_open.get() { "Hide status legend" } else { "What do the statuses mean?" }}
            </button>
        </div>
        <Show when=move || legend_open.get()>
            <section id="status-legend" class="card mb-4" aria-label="Status legend">
                <dl class="grid gap-2 sm:grid-cols-2">
                    {STATUSES.iter().map(|(s, m)| view! {
                        <div class="flex items-center gap-2">
                            <dt><StatusBadge status=s.to_string() /></dt>
                            <dd class="text-sm text-slate-600 dark:text-slate-300">{*m}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            </section>
        </Show>
        <Transition fallback=|| view! { <div class="skeleton h-32" aria-busy="true">"Loading datasources…"</div> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    Ok(p) if p.total == 0 => view! { <EmptyState /> }.into_any(),
                    Ok(p) => {
                        let cursor = p.cursor.clone();
                        let total = p.total;
                        let items = p.items;
                        busy.set(items.iter().any(|d| d.is_busy()));
                        let first_page = scroll().is_some();
                        view! {
                            <p class="mb-2 text-sm text-slate-600 dark:text-slate-400" data-testid="total">
                                {format!("{total} datasource{}", if total == 1 { "" } else { "s" })}
                            </p>
                            <DatasourceTable items filter />
                            <nav class="mt-4 flex gap-3" aria-label="Pages">
                                {first_page.then(|| view! { <a class="btn-secondary" href="/datasources">"First page"</a> })}
                                {cursor.map(|c| view! {
                                    <a class="btn-secondary" href=format!("/datasources?scroll={c}")>"Next page"</a>
                                })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn DatasourceTable(items: Vec<DatasourceView>, filter: RwSignal<String>) -> impl IntoView {
    let items = StoredValue::new(items);
    let visible = move || {
        let f = filter.get().to_lowercase();
        items
            .get_value()
            .into_iter()
            .filter(|d| f.is_empty() || d.title.to_lowercase().contains(&f))
            .collect::<Vec<_>>()
    };
    view! {
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
            <table class="table">
                <thead>
                    <tr>
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
                    {move || {
                        let rows = visible();
                        if rows.is_empty() {
                            view! { <tr><td colspan="7" class="text-center text-slate-500" data-testid="no-match">"No datasource on this page matches the filter."</td></tr> }.into_any()
                        } else {
                            rows.into_iter().map(|d| {
                                let sync_label = SYNC_TYPES.iter().find(|(v, _, _)| *v == d.type_sync).map(|(_, l, _)| *l).unwrap_or("");
                                view! {
                                    <tr data-testid="datasource-row">
                                        <td><a class="link font-medium" href=format!("/datasources/{}", d.id)>{d.title.clone()}</a></td>
                                        <td>{d.kind_label.clone()}</td>
                                        <td><code>{d.type_sync.clone()}</code>" "<span class="text-slate-500">{sync_label}</span></td>
                                        <td><StatusBadge status=d.sync_status.clone() reason=d.status_reason.clone().unwrap_or_default() /></td>
                                        <td class="text-right tabular-nums">{d.resource_count}</td>
                                        <td class="text-right tabular-nums">{format_bytes(d.byte_count)}</td>
                                        <td>{d.last_sync_finished_at.clone().unwrap_or_else(|| "never".into())}</td>
                                    </tr>
                                }
                            }).collect_view().into_any()
                        }
                    }}
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
