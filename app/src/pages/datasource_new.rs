//! `/datasources/new`: choose a kind, a title, its settings and a sync type. The kind is chosen
//! by link (`?kind=`), so the form is right with or without JavaScript. Every kind, setting,
//! label and help text comes from the engine's connector registry (`get_connectors`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{CreateDatasource, get_connectors};
use crate::components::notice::{ErrorNotice, field_error, form_error_except};
use crate::error::AppError;
use crate::types::{ConnectorView, SYNC_TYPES};

#[component]
pub fn NewDatasource() -> impl IntoView {
    let query = use_query_map();
    let connectors = Resource::new(|| (), |_| get_connectors(true));
    let action = ServerAction::<CreateDatasource>::new();

    view! {
        <Title text="New datasource" />
        <h1 class="mb-6 text-2xl font-semibold">"New datasource"</h1>
        <Transition fallback=|| view! { <div class="skeleton h-40" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match connectors.await {
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    Ok(all) if all.is_empty() => view! { <p>"No connectors are registered."</p> }.into_any(),
                    Ok(all) => {
                        let asked = query.read_untracked().get("kind").unwrap_or_default();
                        let chosen = all.iter().find(|c| c.kind == asked).unwrap_or(&all[0]).clone();
                        view! { <KindTabs all=all.clone() chosen=chosen.kind.clone() /> <NewForm c=chosen action /> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// One link per connector; the chosen one marked.
#[component]
fn KindTabs(all: Vec<ConnectorView>, chosen: String) -> impl IntoView {
    view! {
        <nav class="mb-6 flex flex-wrap gap-2" aria-label="Kind of datasource">
            {all.into_iter().map(|c| {
                let current = c.kind == chosen;
                view! {
                    <a
                        href=format!("/datasources/new?kind={}", c.kind)
                        class=if current { "kind-tab kind-tab-active" } else { "kind-tab" }
                        aria-current=current.then_some("true")
                        title=c.description.clone()
                        data-kind=c.kind.clone()
                    >
                        {c.label.clone()}
                    </a>
                }
            }).collect_view()}
        </nav>
    }
}

#[component]
fn NewForm(c: ConnectorView, action: ServerAction<CreateDatasource>) -> impl IntoView {
    let value = action.value();
    let fields = c.form_fields();
    view! {
        <ActionForm action=action attr:class="card max-w-2xl space-y-5" attr:aria-label="New datasource">
            <input type="hidden" name="kind" value=c.kind.clone() />
            <div>
                <label for="title" class="label">"Title"</label>
                <input id="title" name="title" class="input" required maxlength="200" placeholder="e.g. Legal shared drive" />
                {field_error(value, "title")}
            </div>
            {settings_inputs(&c, value, |_| String::new())}
            {credential_inputs(&c, value, false)}
            <SyncTypeChoice c=c.clone() selected=None />
            {field_error(value, "type_sync")}
            {field_error(value, "@type")}
            {form_error_except(value, fields)}
            <div class="flex gap-3">
                <button type="submit" class="btn-primary" data-pending-label="Creating…">"Create datasource"</button>
                <a href="/datasources" class="btn-secondary">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// The inputs of a connector's settings, with their errors from `value`; `current` gives an
/// input's value (empty on a new datasource).
pub fn settings_inputs<T, S>(
    c: &ConnectorView,
    value: S,
    current: impl Fn(&str) -> String,
) -> AnyView
where
    T: Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    c.settings
        .iter()
        .map(|s| {
            let hint = format!("{}-hint", s.name);
            view! {
                <div>
                    <label for=s.name.clone() class="label">{s.label.clone()}{s.required.then_some(" *")}</label>
                    <input id=s.name.clone() name=s.name.clone() class="input" required=s.required value=current(&s.name) aria-describedby=hint.clone() />
                    <p id=hint class="hint">{s.help.clone()}</p>
                    {field_error(value.clone(), s.name.clone())}
                </div>
            }
        })
        .collect_view()
        .into_any()
}

/// The inputs of a connector's credentials (S3 access keys, OAuth tokens), with their errors
/// from `value`; `None` for connectors without credentials. `replacing`: on a datasource's
/// settings, where they replace what the wallet holds.
pub fn credential_inputs<T, S>(c: &ConnectorView, value: S, replacing: bool) -> Option<AnyView>
where
    T: Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    if c.credentials.is_empty() {
        return None;
    }
    let kept = "Kept encrypted in Tributary's wallet and never shown again.";
    let hint = if replacing {
        c.credentials_hint_replace.clone()
    } else {
        c.credentials_hint_new.clone()
    };
    let inputs = c
        .credentials
        .iter()
        .map(|k| {
            view! {
                <div>
                    <label for=k.input.clone() class="label">{k.label.clone()}</label>
                    <input id=k.input.clone() name=k.input.clone() type=if k.secret { "password" } else { "text" } class="input" autocomplete="off" />
                    {field_error(value.clone(), k.name.clone())}
                </div>
            }
        })
        .collect_view();
    Some(
        view! {
            <fieldset class="space-y-3 rounded-md border border-slate-200 p-4 dark:border-slate-700">
                <legend class="px-1 text-sm font-medium">{c.credentials_legend.clone()}</legend>
                <p class="hint">{kept}" "{hint}</p>
                {inputs}
            </fieldset>
        }
        .into_any(),
    )
}

/// Three explained radio choices; the ones the connector does not support are disabled with
/// the reason.
#[component]
pub fn SyncTypeChoice(c: ConnectorView, selected: Option<String>) -> impl IntoView {
    let supported = c.sync_types.clone();
    let chosen = selected
        .filter(|s| supported.contains(s))
        .or_else(|| supported.first().cloned())
        .unwrap_or_default();
    // "one-time", "mirror and archive": the sync types' names, as people read them.
    let only: Vec<String> = supported
        .iter()
        .filter_map(|t| SYNC_TYPES.iter().find(|(v, _, _)| v == t))
        .map(|(_, name, _)| name.to_lowercase())
        .collect();
    view! {
        <fieldset>
            <legend class="label">"Sync type"</legend>
            <div class="mt-2 space-y-2">
                {SYNC_TYPES.iter().map(|(value, name, explanation)| {
                    let ok = supported.iter().any(|s| s == value);
                    let id = format!("type_sync_{value}");
                    let for_id = id.clone();
                    let reason = (!ok).then(|| format!("{} datasources support only {} sync.", c.label, only.join(" and ")));
                    view! {
                        <label for=for_id class=if ok { "choice" } else { "choice choice-disabled" }>
                            <input type="radio" id=id name="type_sync" value=*value disabled=!ok checked=chosen == *value />
                            <span>
                                <span class="font-medium">{*name}" "<code>{format!("({value})")}</code></span>
                                <span class="block text-sm text-slate-600 dark:text-slate-400">{*explanation}</span>
                                {reason.map(|r| view! { <span class="block text-sm text-amber-700 dark:text-amber-400" data-testid=format!("unsupported-{value}")>{r}</span> })}
                            </span>
                        </label>
                    }
                }).collect_view()}
            </div>
        </fieldset>
    }
}
