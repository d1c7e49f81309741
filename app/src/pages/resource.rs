//! `/datasources/:id/resources/:rid`: one collected resource, how its processing went, and
//! the text extracted from it. Its status and details follow live changes to its datasource
//! (a processed batch, a re-sync), so sending it to processing shows the outcome arrive.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{SendToProcessing, get_resource};
use crate::components::notice::{ErrorNotice, form_error};
use crate::flash::flashed_from;
use crate::types::{ResourceDetail, format_bytes};

#[component]
pub fn ResourcePage() -> impl IntoView {
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        (
            p.get("id").unwrap_or_default(),
            p.get("rid").unwrap_or_default(),
        )
    };
    let send = ServerAction::<SendToProcessing>::new();
    let detail = Resource::new(ids, |(id, rid)| get_resource(id, rid));
    view! {
        <Transition fallback=|| view! { <div class="skeleton h-40" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <Title text="Resource" /><ErrorNotice error=e /> }.into_any(),
                    Ok(d) => view! { <Detail d send /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Detail(d: ResourceDetail, send: ServerAction<SendToProcessing>) -> impl IntoView {
    let r = d.resource.clone();
    let scope = d.datasource_id.clone();
    let row = |k: &'static str, v: String| {
        view! {
            <div class="py-2 sm:grid sm:grid-cols-3"><dt class="font-medium">{k}</dt><dd class="sm:col-span-2 break-all" data-field=k>{v}</dd></div>
        }
    };
    let status_class = match r.processing_status.as_str() {
        "processed" => "badge badge-green",
        "failed" => "badge badge-red",
        "processing" => "badge badge-blue",
        _ => "badge badge-amber",
    };
    let queued = flashed_from::<SendToProcessing>()
        .and_then(|f| f.detail)
        .map(|n| {
            view! {
                <p role="status" class="text-green-700 dark:text-green-400" data-testid="queued">
                    {format!("Queued for processing ({n}).")}
                </p>
            }
        });
    view! {
        <Title text=r.name.clone() />
        <p class="mb-2 text-sm">
            <a class="link" href=format!("/datasources/{}?tab=resources", d.datasource_id)>{format!("← {}", d.datasource_title)}</a>
        </p>
        <div class="mb-4 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold break-all" data-testid="resource-name">{r.name.clone()}</h1>
            <span id="res-status" data-live=scope.clone() class=status_class data-testid="processing-status" title=r.processing_error.clone().unwrap_or_default()>
                {r.processing_status.clone()}
            </span>
            {d.can_operate.then(|| view! {
                <ActionForm action=send attr:class="ml-auto">
                    <input type="hidden" name="id" value=d.datasource_id.clone() />
                    <input type="hidden" name="resource_id" value=r.id.clone() />
                    <button type="submit" class="btn-secondary">"Send to processing"</button>
                </ActionForm>
            })}
        </div>
        {queued}
        {form_error(send.value(), &[])}
        <div id="res-detail" data-live=scope>
            <dl class="card mb-6 divide-y divide-slate-100 dark:divide-slate-800">
                {row("Path", r.path.clone())}
                {row("Type", r.media_type.clone().unwrap_or_else(|| "unknown".into()))}
                {row("Size", format_bytes(r.size))}
                {row("Modified at source", r.source_modified_at.clone().unwrap_or_default())}
                {row("Collected", d.collected_at.clone())}
                {row("Processing", match &r.processing_error {
                    Some(e) => format!("{}: {e}", r.processing_status),
                    None => r.processing_status.clone(),
                })}
                {row("Content hash (SHA-256)", d.content_hash.clone().unwrap_or_default())}
            </dl>
            <section aria-labelledby="text-heading">
                <h2 id="text-heading" class="mb-2 text-lg font-semibold">"Extracted text"</h2>
                {match d.text.clone() {
                    Some(t) if !t.trim().is_empty() => view! {
                        <pre class="card max-h-[32rem] overflow-auto whitespace-pre-wrap text-sm" data-testid="extracted-text">{t}</pre>
                        {d.text_cut.then(|| view! { <p class="hint">"Only the beginning is shown."</p> })}
                    }.into_any(),
                    Some(_) => view! { <p class="text-slate-600 dark:text-slate-400">"No text in this file; its name and path are searchable."</p> }.into_any(),
                    None => view! { <p class="text-slate-600 dark:text-slate-400">"Not processed yet."</p> }.into_any(),
                }}
            </section>
        </div>
    }
}
