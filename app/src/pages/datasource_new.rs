//! `/datasources/new`: choose a kind, a title, its settings and a sync type. The kind is chosen
//! by link (`?kind=`), so the form is right with or without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::CreateDatasource;
use crate::components::notice::{field_error, form_error};
use crate::error::AppError;
use crate::types::{KINDS, SYNC_TYPES};

/// The settings inputs of each kind: (name, label, hint, required).
pub fn settings_inputs(kind: &str) -> &'static [(&'static str, &'static str, &'static str, bool)] {
    match kind {
        "FolderDatasource" => &[(
            "path",
            "Folder path",
            "An absolute path under one of the server's allowed folder roots. Only account \
             admins may collect the server's folders (they can share one with you).",
            true,
        )],
        "S3Datasource" => &[
            (
                "bucket",
                "Bucket",
                "The bucket's name, e.g. company-archive.",
                true,
            ),
            (
                "prefix",
                "Prefix",
                "Only keys starting with this are collected (optional).",
                false,
            ),
            (
                "endpoint",
                "Endpoint",
                "For S3-compatible services, e.g. https://s3.example.com (optional).",
                false,
            ),
            ("region", "Region", "e.g. eu-west-1 (optional).", false),
        ],
        "DropboxDatasource" => &[
            (
                "root",
                "Folder",
                "The Dropbox folder to collect, e.g. /Legal; empty for the whole Dropbox.",
                false,
            ),
            (
                "app_key",
                "App key",
                "The Dropbox app the refresh token was issued to; needed to refresh the access token.",
                false,
            ),
            (
                "endpoint",
                "API endpoint",
                "Another server speaking Dropbox's API (optional; Dropbox itself when empty).",
                false,
            ),
        ],
        "SlackDatasource" => &[
            (
                "workspace",
                "Workspace",
                "The workspace's name, for your reference (optional).",
                false,
            ),
            (
                "channels",
                "Channels",
                "Channel names to collect, comma-separated, e.g. general, legal; every channel the app is in when empty.",
                false,
            ),
            (
                "client_id",
                "Client ID",
                "The Slack app's client ID; needed to refresh a rotating token.",
                false,
            ),
            (
                "endpoint",
                "API endpoint",
                "Another server speaking Slack's Web API, e.g. https://slack.example.com/api (optional).",
                false,
            ),
        ],
        _ => &[],
    }
}

/// The fields the credential inputs show errors of.
pub const CREDENTIAL_FIELDS: &[&str] = &[
    "access_key_id",
    "secret_access_key",
    "Authorization",
    "X-Auth-Secret",
    "client_secret",
];

pub const FORM_FIELDS: &[&str] = &[
    "@type",
    "title",
    "type_sync",
    "path",
    "bucket",
    "prefix",
    "endpoint",
    "region",
    "root",
    "app_key",
    "workspace",
    "channels",
    "client_id",
    "client_secret",
    "access_key_id",
    "secret_access_key",
    "Authorization",
    "X-Auth-Secret",
];

#[component]
pub fn NewDatasource() -> impl IntoView {
    let query = use_query_map();
    let kind = Memo::new(move |_| {
        let k = query.read().get("kind").unwrap_or_default();
        if KINDS.iter().any(|(v, _, _)| *v == k) {
            k
        } else {
            KINDS[0].0.to_owned()
        }
    });
    let action = ServerAction::<CreateDatasource>::new();
    let value = action.value();

    view! {
        <Title text="New datasource" />
        <h1 class="mb-6 text-2xl font-semibold">"New datasource"</h1>
        <nav class="mb-6 flex flex-wrap gap-2" aria-label="Kind of datasource">
            {KINDS.iter().map(|(k, label, _)| {
                let k = *k;
                view! {
                    <a
                        href=format!("/datasources/new?kind={k}")
                        class=move || if kind.get() == k { "kind-tab kind-tab-active" } else { "kind-tab" }
                        aria-current=move || (kind.get() == k).then_some("true")
                        data-kind=k
                    >
                        {*label}
                    </a>
                }
            }).collect_view()}
        </nav>
        <ActionForm action=action attr:class="card max-w-2xl space-y-5" attr:aria-label="New datasource">
            <input type="hidden" name="kind" value=move || kind.get() />
            <div>
                <label for="title" class="label">"Title"</label>
                <input id="title" name="title" class="input" required maxlength="200" placeholder="e.g. Legal shared drive" />
                {field_error(value, "title")}
            </div>
            {move || {
                let k = kind.get();
                settings_inputs(&k).iter().map(|(name, label, hint, required)| view! {
                    <div>
                        <label for=*name class="label">{*label}{required.then_some(" *")}</label>
                        <input id=*name name=*name class="input" required=*required aria-describedby=format!("{name}-hint") />
                        <p id=format!("{name}-hint") class="hint">{*hint}</p>
                        {field_error(value, name)}
                    </div>
                }).collect_view()
            }}
            {move || credential_inputs(&kind.get(), value, false)}
            <SyncTypeChoice kind=kind.into() selected=None />
            {field_error(value, "type_sync")}
            {field_error(value, "@type")}
            {form_error(value, FORM_FIELDS)}
            <div class="flex gap-3">
                <button type="submit" class="btn-primary" data-pending-label="Creating…">"Create datasource"</button>
                <a href="/datasources" class="btn-secondary">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// The inputs of `kind`'s credentials (S3 access keys, OAuth tokens), with their errors from
/// `value`; `None` for kinds without credentials. `replacing`: on a datasource's settings, where
/// they replace what the wallet holds.
pub fn credential_inputs<T, S>(kind: &str, value: S, replacing: bool) -> Option<AnyView>
where
    T: Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    let input = |id: &'static str, label: &'static str, error: &'static str, secret: bool| {
        view! {
            <div>
                <label for=id class="label">{label}</label>
                <input id=id name=id type=if secret { "password" } else { "text" } class="input" autocomplete="off" />
                {field_error(value.clone(), error)}
            </div>
        }
    };
    let kept = "Kept encrypted in Tributary's wallet and never shown again.";
    let (legend, hint, inputs) = match kind {
        "S3Datasource" => (
            "Access keys",
            if replacing {
                "Both together replace the keys in the wallet."
            } else {
                "Leave both empty for a public bucket."
            },
            view! {
                {input("access_key_id", "Access key ID", "access_key_id", false)}
                {input("secret_access_key", "Secret access key", "secret_access_key", true)}
            }
            .into_any(),
        ),
        "DropboxDatasource" | "SlackDatasource" => (
            "OAuth tokens",
            if replacing {
                "What you fill in replaces the wallet's; a datasource waiting for its tokens is queued."
            } else {
                "Without them the datasource waits; scripts can send them later with @refreshServiceCredentials."
            },
            view! {
                {input("access_token", "Access token", "Authorization", true)}
                {input("refresh_token", "Refresh token", "X-Auth-Secret", true)}
                {(kind == "SlackDatasource").then(|| input("client_secret", "Client secret", "client_secret", true))}
            }
            .into_any(),
        ),
        _ => return None,
    };
    Some(
        view! {
            <fieldset class="space-y-3 rounded-md border border-slate-200 p-4 dark:border-slate-700">
                <legend class="px-1 text-sm font-medium">{legend}</legend>
                <p class="hint">{kept}" "{hint}</p>
                {inputs}
            </fieldset>
        }
        .into_any(),
    )
}

/// Three explained radio choices; the ones `kind` does not support are disabled with the reason.
#[component]
pub fn SyncTypeChoice(kind: Signal<String>, selected: Option<String>) -> impl IntoView {
    view! {
        <fieldset>
            <legend class="label">"Sync type"</legend>
            <div class="mt-2 space-y-2">
                {move || {
                    let k = kind.get();
                    let (_, label, supported) = KINDS.iter().find(|(v, _, _)| *v == k).copied().unwrap_or(KINDS[0]);
                    let chosen = selected.clone().filter(|s| supported.contains(&s.as_str())).unwrap_or_else(|| supported[0].to_owned());
                    SYNC_TYPES.iter().map(|(value, name, explanation)| {
                        let ok = supported.contains(value);
                        let id = format!("type_sync_{value}");
                        let for_id = id.clone();
                        let reason = (!ok).then(|| format!("{label} datasources support only one-time sync."));
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
                    }).collect_view()
                }}
            </div>
        </fieldset>
    }
}
